package models

import (
	"time"

	"gorm.io/gorm"
)

// Queries for the operator: the first-run setup and the metrics.

// HasSuperuser says whether any account is a superuser (deactivated ones count: they can be
// activated again, and a setup link beside them would hand out a second master key).
func HasSuperuser(db *gorm.DB) (bool, error) {
	var ids []uint
	err := db.Model(&User{}).Where("is_superuser = ?", true).Limit(1).Pluck("id", &ids).Error
	return len(ids) > 0, err
}

// CountAuthSessions counts the signed-in sessions of every user.
func CountAuthSessions(db *gorm.DB) (int64, error) {
	var n int64
	err := db.Model(&AuthSession{}).Count(&n).Error
	return n, err
}

// CountLoginLocks counts the sign-in locks in force at now.
func CountLoginLocks(db *gorm.DB, now time.Time) (int64, error) {
	var n int64
	err := db.Model(&LoginLock{}).Where("until > ?", now).Count(&n).Error
	return n, err
}

// CountEmailsByStatus counts the outbox's mails by status (MailPending, MailSent, MailFailed).
func CountEmailsByStatus(db *gorm.DB) (map[string]int64, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := db.Model(&Email{}).Select("status, count(*) AS n").Group("status").Scan(&rows).Error
	counts := map[string]int64{MailPending: 0, MailSent: 0, MailFailed: 0}
	for _, r := range rows {
		counts[r.Status] = r.N
	}
	return counts, err
}
