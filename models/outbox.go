package models

import (
	"time"

	"gorm.io/gorm"
)

// Mail purposes: rate limits count per address and purpose, so a fresh verification mail
// never holds back a reset.
const (
	MailVerify  = "verify"
	MailReset   = "reset"
	MailNotice  = "notice"  // "you already have an account", "your address is being changed"
	MailChanged = "changed" // security notices of the owner's own actions: never suppressed
	MailLockout = "lockout"
)

// Mail statuses.
const (
	MailPending = "pending"
	MailSent    = "sent"
	MailFailed  = "failed"
)

// Email is a row of the outbox. It is written in the same transaction as the change that
// causes it, so a committed change always has its mail, and a crash cannot lose it.
type Email struct {
	ID            uint      `gorm:"primaryKey"`
	UserID        *uint     `gorm:"index"`
	User          *User     `gorm:"constraint:OnDelete:CASCADE"`
	To            string    `gorm:"size:254;not null;index:idx_email_rate,priority:1"`
	Purpose       string    `gorm:"size:16;not null;index:idx_email_rate,priority:2"`
	CreatedAt     time.Time `gorm:"not null;index:idx_email_rate,priority:3"`
	Subject       string    `gorm:"not null"`
	Text          string    `gorm:"not null"`
	HTML          string    `gorm:"not null"`
	Status        string    `gorm:"size:8;not null;index:idx_email_due,priority:1"`
	NextAttemptAt time.Time `gorm:"not null;index:idx_email_due,priority:2"`
	Attempts      int       `gorm:"not null"`
	LastError     string    `gorm:"size:500;not null"`
	SentAt        *time.Time
}

// QueueEmail adds e to the outbox as due now.
func QueueEmail(tx *gorm.DB, e *Email, now time.Time) error {
	e.Status, e.CreatedAt, e.NextAttemptAt = MailPending, now, now
	return tx.Create(e).Error
}

// CountRecentEmails counts mails queued to an address for a purpose since a time.
func CountRecentEmails(db *gorm.DB, to, purpose string, since time.Time) (int64, error) {
	var n int64
	err := db.Model(&Email{}).Where("\"to\" = ? AND purpose = ? AND created_at > ?", to, purpose, since).Count(&n).Error
	return n, err
}

// DueEmails returns pending mails whose next attempt has come, oldest first.
func DueEmails(db *gorm.DB, now time.Time, limit int) ([]Email, error) {
	var es []Email
	err := db.Where("status = ? AND next_attempt_at <= ?", MailPending, now).Order("next_attempt_at, id").Limit(limit).Find(&es).Error
	return es, err
}

// NextEmailDue is when the earliest pending mail is due, or false when none is pending.
func NextEmailDue(db *gorm.DB) (time.Time, bool, error) {
	var es []Email
	err := db.Select("next_attempt_at").Where("status = ?", MailPending).Order("next_attempt_at").Limit(1).Find(&es).Error
	if err != nil || len(es) == 0 {
		return time.Time{}, false, err
	}
	return es[0].NextAttemptAt, true, nil
}

// ClaimEmail takes a due mail for one sender by moving its next attempt to leaseUntil; it
// reports false when another sender claimed it first. A sender that dies mid-send leaves the
// mail to be retried when the lease runs out.
func ClaimEmail(db *gorm.DB, e *Email, leaseUntil time.Time) (bool, error) {
	res := db.Model(&Email{}).Where("id = ? AND status = ? AND next_attempt_at = ?", e.ID, MailPending, e.NextAttemptAt).
		Update("next_attempt_at", leaseUntil)
	return res.RowsAffected == 1, res.Error
}

// MarkEmailSent records delivery and drops the body: links in it are secrets that need not
// outlive the delivery.
func MarkEmailSent(db *gorm.DB, id uint, now time.Time) error {
	return db.Model(&Email{}).Where("id = ?", id).Updates(map[string]any{
		"status": MailSent, "sent_at": now, "text": "", "html": "", "attempts": gorm.Expr("attempts + 1"),
	}).Error
}

// MarkEmailFailed records a failed attempt; with final it gives up on the mail.
func MarkEmailFailed(db *gorm.DB, id uint, next time.Time, reason string, final bool) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	status := MailPending
	if final {
		status = MailFailed
	}
	return db.Model(&Email{}).Where("id = ?", id).Updates(map[string]any{
		"status": status, "next_attempt_at": next, "last_error": reason, "attempts": gorm.Expr("attempts + 1"),
	}).Error
}
