package models

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// LoginFailure is one failed login, counted against a key: an identity ("user:<id>" for an
// account, "login:<name>" for a name that has none), a known device ("device:<id>") or a
// client IP ("ip:<addr>"). Rows make a sliding window exact and survive restarts.
type LoginFailure struct {
	ID  uint      `gorm:"primaryKey"`
	Key string    `gorm:"size:300;not null;index:idx_failures_key_at,priority:1"`
	At  time.Time `gorm:"not null;index:idx_failures_key_at,priority:2"`
}

// LoginLock is an active lock of a key.
type LoginLock struct {
	Key   string    `gorm:"primaryKey;size:300"`
	Until time.Time `gorm:"not null"`
}

// IdentityKey is the throttling key of what was typed in the login field: the account when
// one matches (so its username and email share one counter), else the lower-cased text.
func IdentityKey(db *gorm.DB, login string) (string, *User, error) {
	u, err := FindUserByLogin(db, login)
	switch {
	case err == nil:
		return "user:" + strconv.FormatUint(uint64(u.ID), 10), u, nil
	case errors.Is(err, ErrNotFound):
		return "login:" + strings.ToLower(strings.TrimSpace(login)), nil, nil
	}
	return "", nil, err
}

// LockedUntil returns when key's lock ends, or the zero time when it is not locked.
func LockedUntil(db *gorm.DB, key string, now time.Time) (time.Time, error) {
	var locks []LoginLock
	if err := db.Where("key = ? AND until > ?", key, now).Limit(1).Find(&locks).Error; err != nil {
		return time.Time{}, err
	}
	if len(locks) == 0 {
		return time.Time{}, nil
	}
	return locks[0].Until, nil
}

// RecordLoginFailure counts a failure against each key.
func RecordLoginFailure(db *gorm.DB, now time.Time, keys ...string) error {
	rows := make([]LoginFailure, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, LoginFailure{Key: k, At: now})
	}
	return db.Create(&rows).Error
}

// CountLoginFailures counts key's failures since a time.
func CountLoginFailures(db *gorm.DB, key string, since time.Time) (int64, error) {
	var n int64
	err := db.Model(&LoginFailure{}).Where("key = ? AND at > ?", key, since).Count(&n).Error
	return n, err
}

// Lock locks key until a time; it reports whether the key was not locked already, so the
// owner is told once per lock. Failures arrive concurrently: the insert is the check.
func Lock(db *gorm.DB, key string, now, until time.Time) (locked bool, err error) {
	err = Transaction(db, func(tx *gorm.DB) error {
		if err := tx.Where("key = ? AND until <= ?", key, now).Delete(&LoginLock{}).Error; err != nil {
			return err
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&LoginLock{Key: key, Until: until})
		locked = res.RowsAffected > 0
		return res.Error
	})
	return locked, err
}

// ClearKey removes a key's failures and lock: after a successful login, or a password reset.
func ClearKey(db *gorm.DB, key string) error {
	if err := db.Where("key = ?", key).Delete(&LoginFailure{}).Error; err != nil {
		return err
	}
	return db.Where("key = ?", key).Delete(&LoginLock{}).Error
}

// ClearLoginFailures clears the lockout and failure count of what a login field names (a
// username, an email, or a name without an account).
func ClearLoginFailures(db *gorm.DB, login string) error {
	key, _, err := IdentityKey(db, login)
	if err != nil {
		return err
	}
	return ClearKey(db, key)
}

// UserKey is the throttling key of an account.
func UserKey(u *User) string { return "user:" + strconv.FormatUint(uint64(u.ID), 10) }

// PruneLoginFailures deletes failures older than a time; they no longer count.
func PruneLoginFailures(db *gorm.DB, before time.Time) error {
	if err := db.Where("at < ?", before).Delete(&LoginFailure{}).Error; err != nil {
		return err
	}
	return db.Where("until < ?", before).Delete(&LoginLock{}).Error
}

// ForgetUserFailures deletes the failures and locks counted against an account: under its key,
// and under the names it can be typed as (its username and addresses, past ones too), which
// count as "login:<name>" when typed before the account existed or after an address changed.
// Those keys hold the names themselves.
func ForgetUserFailures(tx *gorm.DB, u *User, addresses []string) error {
	keys := []string{UserKey(u), "login:" + u.UsernameKey, "login:" + strings.ToLower(u.Username)}
	for _, a := range addresses {
		keys = append(keys, "login:"+strings.ToLower(strings.TrimSpace(a)))
	}
	if err := tx.Where("key IN ?", keys).Delete(&LoginFailure{}).Error; err != nil {
		return err
	}
	return tx.Where("key IN ?", keys).Delete(&LoginLock{}).Error
}
