package models

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
)

// AuthSession indexes a signed-in session to its user. The browser's cookie holds the session
// store's key; this row's ID is a separate random value, safe to show and to put in URLs.
// Deleting the row ends the session at its next request, wherever the store's copy is.
type AuthSession struct {
	ID         string    `gorm:"primaryKey;size:32"`
	UserID     uint      `gorm:"not null;index"`
	User       User      `gorm:"constraint:OnDelete:CASCADE"`
	CreatedAt  time.Time `gorm:"not null"`
	LastSeenAt time.Time `gorm:"not null"`
	IP         string    `gorm:"size:64;not null"`
	UserAgent  string    `gorm:"size:512;not null"`
	Remember   bool      `gorm:"not null"`
}

// NewAuthSession is what a login knows about the client.
type NewAuthSession struct {
	UserID    uint
	IP        string
	UserAgent string
	Remember  bool
}

// StartAuthSession records a new signed-in session.
func StartAuthSession(db *gorm.DB, n NewAuthSession, now time.Time) (*AuthSession, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	ua := n.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	s := &AuthSession{
		ID: hex.EncodeToString(b[:]), UserID: n.UserID, CreatedAt: now, LastSeenAt: now,
		IP: n.IP, UserAgent: ua, Remember: n.Remember,
	}
	return s, db.Create(s).Error
}

// FindAuthSession loads a session with its user in one query.
func FindAuthSession(db *gorm.DB, id string) (*AuthSession, error) {
	var s AuthSession
	err := db.Joins("User").Where("auth_sessions.id = ?", id).Limit(1).Find(&s).Error
	if err != nil {
		return nil, err
	}
	if s.ID == "" {
		return nil, ErrNotFound
	}
	return &s, nil
}

// EndAuthSession deletes one session; ending one that is already gone is not an error.
func EndAuthSession(db *gorm.DB, id string) error {
	return db.Where("id = ?", id).Delete(&AuthSession{}).Error
}

// EndUserSessions ends every session of a user except keepID (pass "" to end all).
func EndUserSessions(db *gorm.DB, userID uint, keepID string) (int64, error) {
	res := db.Where("user_id = ? AND id <> ?", userID, keepID).Delete(&AuthSession{})
	return res.RowsAffected, res.Error
}

// ErrSessionExpired marks a session past its idle or absolute limit.
var ErrSessionExpired = errors.New("session expired")

// CheckLifetime returns ErrSessionExpired when s has been idle longer than idle or has lived
// longer than max.
func (s *AuthSession) CheckLifetime(now time.Time, idle, max time.Duration) error {
	if now.Sub(s.LastSeenAt) > idle || now.Sub(s.CreatedAt) > max {
		return ErrSessionExpired
	}
	return nil
}

// UserSessions lists a user's sessions, most recently used first.
func UserSessions(db *gorm.DB, userID uint) ([]AuthSession, error) {
	var ss []AuthSession
	err := db.Where("user_id = ?", userID).Order("last_seen_at DESC").Find(&ss).Error
	return ss, err
}

// EndUserSession ends one session of a user; it reports ErrNotFound for a session that is not
// theirs, so nobody can end another user's session by guessing ids.
func EndUserSession(db *gorm.DB, userID uint, id string) error {
	res := db.Where("user_id = ? AND id = ?", userID, id).Delete(&AuthSession{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}
