package models

import (
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Passkeys: WebAuthn credentials a user signs in with instead of a password (when the
// authenticator verified them: fingerprint, face, PIN) or as the second step after it. Only the
// public key is stored; the private key never leaves the authenticator.

// Kinds of passkey security events.
const (
	EventPasskeyAdded   = "passkey_added"
	EventPasskeyRemoved = "passkey_removed"
	EventPasskeyRenamed = "passkey_renamed"
	// EventPasskeyCloned: an assertion came with a signature counter not above the stored one,
	// so two copies of the private key may be in use; the sign-in was refused.
	EventPasskeyCloned = "passkey_clone_refused"
)

// describePasskeyEvent is DescribeEvent for the passkey kinds; any other kind is returned as it
// is.
func describePasskeyEvent(kind string) string {
	switch kind {
	case EventPasskeyAdded:
		return "Passkey added"
	case EventPasskeyRemoved:
		return "Passkey removed"
	case EventPasskeyRenamed:
		return "Passkey renamed"
	case EventPasskeyCloned:
		return "Passkey refused: it may have been copied"
	}
	return kind
}

// Passkey is one WebAuthn credential of a user. The columns are plain types (bytes, integers,
// booleans, UTC times) so that the same model migrates on SQLite and Postgres.
type Passkey struct {
	ID     uint `gorm:"primaryKey"`
	UserID uint `gorm:"not null;index"`
	User   User `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	// CredentialID is the authenticator's id of the credential: how an assertion names it.
	CredentialID []byte `gorm:"not null;uniqueIndex"`
	// UserHandle is the user id given to the authenticator at registration; a discoverable
	// assertion returns it, and it must match.
	UserHandle []byte `gorm:"not null"`
	PublicKey  []byte `gorm:"not null"`
	// SignCount is the last signature counter seen; int64 holds every uint32 on both databases.
	SignCount         int64     `gorm:"not null"`
	UserVerified      bool      `gorm:"not null"`
	BackupEligible    bool      `gorm:"not null"`
	BackupState       bool      `gorm:"not null"`
	AAGUID            []byte    `gorm:"not null"`
	Transports        string    `gorm:"size:200;not null"`
	AttestationFormat string    `gorm:"size:32;not null"`
	Name              string    `gorm:"size:100;not null"`
	CreatedAt         time.Time `gorm:"not null"`
	LastUsedAt        *time.Time
}

// MigratePasskeys creates the passkeys table: schema version 2 (models/schema). Account
// deletion relies on its foreign key's cascade, which the table has had from its start.
func MigratePasskeys(tx *gorm.DB) error { return tx.AutoMigrate(&Passkey{}) }

// PasskeyNameMax is the longest name a passkey may have, in characters.
const PasskeyNameMax = 100

// ErrLastWayIn: the passkey is the only way into an account that has no password.
var ErrLastWayIn = errors.New("the last way to sign in")

// TransportList is Transports as a list.
func (p Passkey) TransportList() []string {
	if p.Transports == "" {
		return nil
	}
	return strings.Split(p.Transports, ",")
}

// AddPasskey stores a new passkey; a credential id stored already (by anyone) is ErrDuplicate.
func AddPasskey(tx *gorm.DB, p *Passkey) error {
	p.CreatedAt = p.CreatedAt.UTC()
	err := tx.Create(p).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrDuplicate
	}
	return err
}

// UserPasskeys lists a user's passkeys, oldest first.
func UserPasskeys(db *gorm.DB, userID uint) ([]Passkey, error) {
	var ps []Passkey
	err := db.Where("user_id = ?", userID).Order("created_at, id").Find(&ps).Error
	return ps, err
}

// FindUserPasskey is the passkey id of userID: another user's passkey is ErrNotFound, exactly
// like one that does not exist.
func FindUserPasskey(db *gorm.DB, userID, id uint) (*Passkey, error) {
	var p Passkey
	err := db.Where("user_id = ? AND id = ?", userID, id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &p, err
}

// FindPasskeyByCredential is the passkey with this credential id, whoever's it is.
func FindPasskeyByCredential(db *gorm.DB, credentialID []byte) (*Passkey, error) {
	var p Passkey
	err := db.Where("credential_id = ?", credentialID).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return &p, err
}

// RenamePasskey renames a passkey of userID.
func RenamePasskey(tx *gorm.DB, userID, id uint, name string) error {
	res := tx.Model(&Passkey{}).Where("user_id = ? AND id = ?", userID, id).Update("name", name)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// DeletePasskey deletes a passkey of u. The last passkey of an account without a password is
// refused with ErrLastWayIn: nothing else would sign in.
func DeletePasskey(tx *gorm.DB, u *User, id uint) (*Passkey, error) {
	p, err := FindUserPasskey(tx, u.ID, id)
	if err != nil {
		return nil, err
	}
	if u.PasswordHash == "" {
		var n int64
		if err := tx.Model(&Passkey{}).Where("user_id = ?", u.ID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n <= 1 {
			return nil, ErrLastWayIn
		}
	}
	if err := tx.Where("user_id = ? AND id = ?", u.ID, id).Delete(&Passkey{}).Error; err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteUserPasskeys deletes every passkey of userID and returns how many there were.
func DeleteUserPasskeys(tx *gorm.DB, userID uint) (int64, error) {
	res := tx.Where("user_id = ?", userID).Delete(&Passkey{})
	return res.RowsAffected, res.Error
}

// CountUserPasskeys counts the passkeys of userID.
func CountUserPasskeys(db *gorm.DB, userID uint) (int64, error) {
	var n int64
	err := db.Model(&Passkey{}).Where("user_id = ?", userID).Count(&n).Error
	return n, err
}

// PasskeyUse is what a successful assertion changes on its passkey.
type PasskeyUse struct {
	SignCount                   uint32
	BackupEligible, BackupState bool
	UserVerified                bool
}

// UsePasskey records a successful assertion: the new counter, the backup flags as the
// authenticator reports them now, and the time. The counter only moves forward: a concurrent
// use that stored a higher one wins, and this one then reports ErrNotFound (refused).
func UsePasskey(tx *gorm.DB, p *Passkey, use PasskeyUse, now time.Time) error {
	now = now.UTC()
	q := tx.Model(&Passkey{}).Where("id = ?", p.ID)
	if use.SignCount != 0 || p.SignCount != 0 {
		q = q.Where("sign_count < ?", int64(use.SignCount))
	}
	res := q.Updates(map[string]any{
		"sign_count": int64(use.SignCount), "backup_eligible": use.BackupEligible, "backup_state": use.BackupState,
		"user_verified": p.UserVerified || use.UserVerified, "last_used_at": now,
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	p.SignCount, p.BackupEligible, p.BackupState, p.LastUsedAt = int64(use.SignCount), use.BackupEligible, use.BackupState, &now
	p.UserVerified = p.UserVerified || use.UserVerified
	return nil
}

// PasskeyChallenge is a ceremony's challenge that was answered (or refused): its row makes the
// challenge single use across concurrent requests and every instance on one database, which a
// session, read by both of two requests before either saves it, cannot. Rows live until the
// ceremony could no longer be finished anyway.
type PasskeyChallenge struct {
	Challenge string    `gorm:"primaryKey;size:128"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// MigratePasskeyChallenges creates the table of spent challenges: schema version 3
// (models/schema).
func MigratePasskeyChallenges(tx *gorm.DB) error { return tx.AutoMigrate(&PasskeyChallenge{}) }

// SpendPasskeyChallenge marks a ceremony's challenge used, until expires; a challenge spent
// already is ErrDuplicate. The primary key decides between concurrent spenders, so exactly one
// insert wins on SQLite and on Postgres. Expired rows are deleted on the way.
func SpendPasskeyChallenge(db *gorm.DB, challenge string, expires, now time.Time) error {
	if challenge == "" || len(challenge) > 128 {
		return ErrDuplicate
	}
	// One commit: the pruning needs no durable write of its own.
	err := Transaction(db, func(tx *gorm.DB) error {
		if err := tx.Where("expires_at < ?", now.UTC()).Delete(&PasskeyChallenge{}).Error; err != nil {
			return err
		}
		return tx.Create(&PasskeyChallenge{Challenge: challenge, ExpiresAt: expires.UTC()}).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return ErrDuplicate
	}
	return err
}
