package models

import (
	"errors"
	"time"

	"gorm.io/gorm"
)

// SetEmail moves the account to a new, confirmed address; ErrEmailTaken when another account
// has it by now.
func SetEmail(tx *gorm.DB, u *User, email string, now time.Time) error {
	email = NormalizeEmail(email)
	err := tx.Model(&User{}).Where("id = ?", u.ID).
		Updates(map[string]any{"email": email, "email_verified_at": now}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrEmailTaken
	} else if err != nil {
		return err
	}
	u.Email, u.EmailVerifiedAt = email, &now
	return nil
}

// accountTables are the tables holding rows that belong to a user, by user_id. Finance tables
// join this list when they arrive; they must also declare OnDelete:CASCADE on their user.
var accountTables = []any{&Avatar{}, &Profile{}, &AuthSession{}, &Email{}, &SecurityEvent{}}

// DeleteAccount deletes a user and everything that is theirs inside tx. The foreign keys
// cascade as well; deleting explicitly keeps it complete on a database whose tables predate a
// constraint. Events in which the user acted on others (as staff) keep their actor id: they
// are the other users' history. No row keeps the username or an address of the account (see
// forgetNames); the caller checkpoints the WAL after the commit (see ForgetDeletedPages).
func DeleteAccount(tx *gorm.DB, userID uint) error {
	u, err := FindUser(tx, userID)
	if err != nil {
		return err
	}
	if err := forgetNames(tx, u); err != nil {
		return err
	}
	for _, m := range accountTables {
		if err := tx.Where("user_id = ?", userID).Delete(m).Error; err != nil {
			return err
		}
	}
	res := tx.Where("id = ?", userID).Delete(&User{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// OtherActiveSuperusers counts the active superusers other than userID: the last one may not
// delete their account, or nobody could administer the instance.
func OtherActiveSuperusers(db *gorm.DB, userID uint) (int64, error) {
	var n int64
	err := db.Model(&User{}).Where("is_superuser AND is_active AND id <> ?", userID).Count(&n).Error
	return n, err
}

// AccountData is everything Tally holds about a user, for the export.
type AccountData struct {
	User     User
	Profile  Profile
	Avatar   *Avatar
	Sessions []AuthSession
	Events   []SecurityEvent
	Emails   []Email
}

// LoadAccountData reads AccountData in one transaction, so the parts agree with each other.
func LoadAccountData(db *gorm.DB, userID uint) (*AccountData, error) {
	d := &AccountData{}
	err := Transaction(db, func(tx *gorm.DB) error {
		u, err := FindUser(tx, userID)
		if err != nil {
			return err
		}
		d.User = *u
		p, err := FindProfile(tx, userID)
		if err != nil {
			return err
		}
		d.Profile = *p
		if d.Avatar, err = FindAvatar(tx, userID); errors.Is(err, ErrNotFound) {
			d.Avatar = nil
		} else if err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Order("created_at, id").Find(&d.Sessions).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Order("created_at, id").Find(&d.Events).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ?", userID).Order("created_at, id").Find(&d.Emails).Error
	})
	return d, err
}
