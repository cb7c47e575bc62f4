package models

import (
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"gorm.io/gorm"
)

// User is an account. The zero value (ID 0) is the anonymous visitor, so views and handlers
// always have a user to look at and never check for nil.
type User struct {
	ID              uint       `gorm:"primaryKey" json:"id"`
	Username        string     `gorm:"size:30;not null" json:"username"`
	UsernameKey     string     `gorm:"size:30;not null;uniqueIndex" json:"-"` // lower-cased: unique ignoring case
	Email           string     `gorm:"size:254;not null;uniqueIndex" json:"email"`
	FirstName       string     `gorm:"size:150;not null" json:"first_name"`
	LastName        string     `gorm:"size:150;not null" json:"last_name"`
	PasswordHash    string     `gorm:"not null" json:"-"`
	IsActive        bool       `gorm:"not null" json:"is_active"`
	IsStaff         bool       `gorm:"not null" json:"is_staff"`
	IsSuperuser     bool       `gorm:"not null" json:"-"`
	EmailVerifiedAt *time.Time `json:"-"`
	DateJoined      time.Time  `gorm:"not null" json:"date_joined"`
	LastLogin       *time.Time `json:"last_login"`
}

// Anonymous is the user of a request without a valid session: a new zero User each time, so
// nothing a request writes into its user reaches another request.
func Anonymous() *User { return &User{} }

// IsAuthenticated reports whether u is a real, signed-in account.
func (u *User) IsAuthenticated() bool { return u.ID != 0 }

// IsAdmin reports whether u may use the admin: staff, and superusers even without the staff
// flag.
func (u *User) IsAdmin() bool { return u.IsAuthenticated() && (u.IsStaff || u.IsSuperuser) }

// DisplayName is what the interface calls the user: the first name when there is one.
func (u *User) DisplayName() string {
	if u.FirstName != "" {
		return u.FirstName
	}
	return u.Username
}

// FullName is "First Last", or the username when both are empty.
func (u *User) FullName() string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.Username
}

// Errors of account operations. ErrInvalidCredentials is deliberately the same for an unknown
// login and a wrong password.
var (
	ErrInvalidCredentials = errors.New("invalid credentials")
	ErrInactive           = errors.New("account is not active")
	ErrUsernameTaken      = errors.New("username taken")
	ErrEmailTaken         = errors.New("email taken")
)

// NewUser is what registration stores; the fields are already validated and the password
// hashed (outside any transaction: a hash takes tens of milliseconds).
type NewUser struct {
	Username, Email, FirstName, LastName, PasswordHash string
	Active                                             bool
}

// NormalizeEmail is the stored form of an address: trimmed, lower-cased and in Unicode NFC, so
// "e" followed by a combining accent and the precomposed "é" are one address, as they look.
// Invalid UTF-8 is only trimmed, for ValidateEmail to refuse: lower-casing would turn it into
// U+FFFD, which makes an address that passes.
func NormalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return s
	}
	return norm.NFC.String(strings.ToLower(s))
}

// CreateUser inserts the user inside tx, reporting a taken username or email as
// ErrUsernameTaken / ErrEmailTaken. An active user counts as verified.
func CreateUser(tx *gorm.DB, n NewUser, now time.Time) (*User, error) {
	u := &User{
		Username:     n.Username,
		UsernameKey:  strings.ToLower(n.Username),
		Email:        NormalizeEmail(n.Email),
		FirstName:    n.FirstName,
		LastName:     n.LastName,
		PasswordHash: n.PasswordHash,
		IsActive:     n.Active,
		DateJoined:   now,
	}
	if n.Active {
		u.EmailVerifiedAt = &now
	}
	err := tx.Create(u).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, duplicateField(tx, u)
	}
	return u, err
}

func duplicateField(tx *gorm.DB, u *User) error {
	var n int64
	tx.Model(&User{}).Where("username_key = ?", u.UsernameKey).Count(&n)
	if n > 0 {
		return ErrUsernameTaken
	}
	return ErrEmailTaken
}

// UsernameTaken reports whether a username is in use, ignoring case.
func UsernameTaken(db *gorm.DB, username string) (bool, error) {
	var n int64
	err := db.Model(&User{}).Where("username_key = ?", strings.ToLower(username)).Count(&n).Error
	return n > 0, err
}

// FindUserByLogin finds a user by username or email, ignoring case.
func FindUserByLogin(db *gorm.DB, login string) (*User, error) {
	login = strings.TrimSpace(login)
	if strings.Contains(login, "@") {
		return FindUserByEmail(db, login)
	}
	return first(db.Where("username_key = ?", strings.ToLower(login)))
}

// FindUserByEmail finds a user by email address, ignoring case.
func FindUserByEmail(db *gorm.DB, email string) (*User, error) {
	return first(db.Where("email = ?", NormalizeEmail(email)))
}

// FindUser finds a user by id.
func FindUser(db *gorm.DB, id uint) (*User, error) {
	return first(db.Where("id = ?", id))
}

func first(q *gorm.DB) (*User, error) {
	var u User
	err := q.Limit(1).Find(&u).Error
	if err != nil {
		return nil, err
	}
	if u.ID == 0 {
		return nil, ErrNotFound
	}
	return &u, nil
}

// VerifyPassword checks password against u's hash, or burns one hash when u is nil (an unknown
// login), so the time taken does not tell whether an account exists. It does no I/O, so the
// caller may run it on a hashing worker. rehash reports outdated parameters.
func VerifyPassword(u *User, password string, p HashParams) (ok, rehash bool) {
	if u == nil {
		DummyCheck(password, p)
		return false, false
	}
	ok, rehash, _ = CheckPassword(password, u.PasswordHash, p) // a malformed hash never matches
	return ok, rehash && ok
}

// RecordLogin stamps last_login.
func RecordLogin(db *gorm.DB, u *User, now time.Time) error {
	u.LastLogin = &now
	return db.Model(u).Update("last_login", now).Error
}

// SetPassword stores a new password hash.
func SetPassword(tx *gorm.DB, u *User, hash string) error {
	u.PasswordHash = hash
	return tx.Model(u).Update("password_hash", hash).Error
}

// ActivateUser marks the address verified and the account active.
func ActivateUser(tx *gorm.DB, u *User, now time.Time) error {
	u.IsActive, u.EmailVerifiedAt = true, &now
	return tx.Model(u).Updates(map[string]any{"is_active": true, "email_verified_at": now}).Error
}

// IsVerified reports whether the user has confirmed their address.
func (u *User) IsVerified() bool { return u.EmailVerifiedAt != nil }

// MigrateUsers brings the users' data up to date after Migrate; the server runs it at every
// start. It puts stored addresses in NFC (NormalizeStoredEmails), returning, and logging by
// user id, the addresses it left for an operator.
func MigrateUsers(db *gorm.DB, log *slog.Logger) ([]EmailCollision, error) {
	collisions, err := NormalizeStoredEmails(db)
	for _, c := range collisions {
		log.Warn("these accounts' email addresses are one address in Unicode NFC, so none was changed: an operator decides which keeps it",
			"user_ids", c.UserIDs)
	}
	return collisions, err
}
