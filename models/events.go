package models

import (
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Kinds of security events.
const (
	EventLoginSuccess   = "login_success"
	EventLoginFailure   = "login_failure"
	EventLockout        = "lockout"
	EventLogout         = "logout"
	EventPasswordChange = "password_change"
	EventPasswordReset  = "password_reset"
	EventEmailVerified  = "email_verified"
	EventEmailChanged   = "email_changed"
	EventSessionRevoked = "session_revoked"
	EventAdminChange    = "admin_change"
	EventImpersonation  = "impersonation"

	// Profile and account data.
	EventEmailChangeRequested = "email_change_requested"
	EventDataExported         = "data_exported"
)

// SecurityEvent is one line of a user's security activity.
type SecurityEvent struct {
	ID        uint      `gorm:"primaryKey"`
	UserID    uint      `gorm:"not null;index:idx_events_user,priority:1"`
	User      User      `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	CreatedAt time.Time `gorm:"not null;index:idx_events_user,priority:2"`
	Kind      string    `gorm:"size:32;not null"`
	// ActorID is the admin who acted on the user's account, when it was not the user.
	ActorID *uint  `gorm:"index"`
	IP      string `gorm:"size:64;not null"`
	Device  string `gorm:"size:100;not null"`
	Detail  string `gorm:"size:300;not null"`
}

// UserRef names another account in an event's detail ("Viewing as user #12 started"). Details
// carry ids, never usernames or addresses: they outlive the account they mention, and the
// actor is ActorID, shown by the name it has while it exists.
func UserRef(id uint) string { return "user #" + strconv.FormatUint(uint64(id), 10) }

// RecordEvent stores e.
func RecordEvent(db *gorm.DB, e *SecurityEvent) error {
	if len(e.Detail) > 300 {
		e.Detail = e.Detail[:300]
	}
	return db.Create(e).Error
}

// DescribeEvent is the sentence a user reads for an event kind.
func DescribeEvent(kind string) string {
	switch kind {
	case EventLoginSuccess:
		return "Signed in"
	case EventLoginFailure:
		return "Failed sign-in attempt"
	case EventLockout:
		return "Sign-in locked after repeated failures"
	case EventLogout:
		return "Signed out"
	case EventPasswordChange:
		return "Password changed"
	case EventPasswordReset:
		return "Password reset by email link"
	case EventEmailVerified:
		return "Email address confirmed"
	case EventEmailChanged:
		return "Email address changed"
	case EventSessionRevoked:
		return "Session ended remotely"
	case EventAdminChange:
		return "Account changed by an administrator"
	case EventImpersonation:
		return "Support access"
	case EventEmailChangeRequested:
		return "Email address change requested"
	case EventDataExported:
		return "Account data downloaded"
	}
	return describeTwoFactorEvent(kind)
}

// DeviceName turns a User-Agent into something a person recognises, like "Firefox on Linux".
func DeviceName(ua string) string {
	browser := "Unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"},
		{"HeadlessChrome/", "Headless Chrome"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	os := ""
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"},
		{"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			os = o.name
			break
		}
	}
	if os == "" {
		return browser
	}
	return browser + " on " + os
}
