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
//
// IsActive says the account may sign in. A registration starts inactive, and confirming its
// address (EmailVerifiedAt) activates it, unless an administrator has deactivated it:
// Deactivated records that decision, which only an administrator undoes (SetUserActive), so a
// confirmation never lets a deactivated account in.
type User struct {
	ID              uint       `gorm:"primaryKey" json:"id"`
	Username        string     `gorm:"size:30;not null" json:"username"`
	UsernameKey     string     `gorm:"size:30;not null;uniqueIndex" json:"-"` // lower-cased: unique ignoring case
	Email           string     `gorm:"size:254;not null;uniqueIndex" json:"email"`
	FirstName       string     `gorm:"size:150;not null" json:"first_name"`
	LastName        string     `gorm:"size:150;not null" json:"last_name"`
	PasswordHash    string     `gorm:"not null" json:"-"`
	IsActive        bool       `gorm:"not null" json:"is_active"`
	Deactivated     bool       `gorm:"not null;default:false" json:"-"`
	IsStaff         bool       `gorm:"not null" json:"is_staff"`
	IsSuperuser     bool       `gorm:"not null" json:"-"`
	EmailVerifiedAt *time.Time `json:"-"`
	DateJoined      time.Time  `gorm:"not null" json:"date_joined"`
	LastLogin       *time.Time `json:"last_login"`
	// TwoFactor says sign-in asks for a code besides the password (twofactor.go). It is a column
	// of the user row, so a sign-in without it reads nothing more than before.
	TwoFactor bool `gorm:"not null;default:false" json:"-"`
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
	// Under a savepoint: on Postgres a failed statement aborts the transaction around it, and
	// duplicateField still has to read in it.
	err := tx.Transaction(func(tx *gorm.DB) error { return tx.Create(u).Error })
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

// IsVerified reports whether the user has confirmed their address.
func (u *User) IsVerified() bool { return u.EmailVerifiedAt != nil }

// IsPending reports an account waiting for its address's confirmation: it has never been able
// to sign in, so nothing of anyone's is in it yet.
func (u *User) IsPending() bool { return !u.IsActive && !u.IsVerified() && !u.Deactivated }

// Registration is a sign-up for an address whose account was never confirmed: the username,
// names and password that sign-up chose, kept apart from the account until that sign-up's own
// link is followed (ConfirmSignUp). Whoever registered an address first does not keep it by
// being first: only the address's owner follows links, so the sign-up whose link they follow
// is theirs, and an earlier one (perhaps someone else's, with a password they chose) goes.
type Registration struct {
	ID           uint      `gorm:"primaryKey"`
	UserID       uint      `gorm:"not null;index"`
	User         User      `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	Username     string    `gorm:"size:30;not null"`
	FirstName    string    `gorm:"size:150;not null"`
	LastName     string    `gorm:"size:150;not null"`
	PasswordHash string    `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null"`
}

// AddRegistration keeps the sign-up n for u's unconfirmed address. Sign-ups made before
// expired go: their links no longer work.
func AddRegistration(tx *gorm.DB, u *User, n NewUser, now, expired time.Time) (*Registration, error) {
	if err := tx.Where("user_id = ? AND created_at < ?", u.ID, expired).Delete(&Registration{}).Error; err != nil {
		return nil, err
	}
	r := &Registration{UserID: u.ID, Username: n.Username, FirstName: n.FirstName, LastName: n.LastName,
		PasswordHash: n.PasswordHash, CreatedAt: now}
	return r, tx.Create(r).Error
}

// FindRegistration finds the sign-up id for the account userID.
func FindRegistration(db *gorm.DB, userID, id uint) (*Registration, error) {
	var r Registration
	if err := db.Where("id = ? AND user_id = ?", id, userID).Limit(1).Find(&r).Error; err != nil {
		return nil, err
	}
	if r.ID == 0 {
		return nil, ErrNotFound
	}
	return &r, nil
}

// DeleteRegistration drops one sign-up ("this was not me").
func DeleteRegistration(tx *gorm.DB, r *Registration) error {
	return tx.Delete(&Registration{}, r.ID).Error
}

// ConfirmSignUp marks u's address confirmed through a verification link. With r, a later
// sign-up for the address, r's username, names and password become the account's: the earlier
// ones are discarded and the account's sessions end. Every other sign-up for the address goes.
// The account becomes active unless an administrator deactivated it. ErrNotFound: the address
// was confirmed, or the password changed, since u was read; ErrUsernameTaken: r's username was
// taken since.
func ConfirmSignUp(tx *gorm.DB, u *User, r *Registration, now time.Time) error {
	set := map[string]any{"email_verified_at": now, "is_active": gorm.Expr("NOT deactivated")}
	if r != nil {
		set["username"], set["username_key"] = r.Username, strings.ToLower(r.Username)
		set["first_name"], set["last_name"], set["password_hash"] = r.FirstName, r.LastName, r.PasswordHash
	}
	// The password in the condition: of two links followed at once, one wins.
	res := tx.Model(&User{}).Where("id = ? AND email_verified_at IS NULL AND password_hash = ?", u.ID, u.PasswordHash).Updates(set)
	if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
		return ErrUsernameTaken
	} else if res.Error != nil {
		return res.Error
	} else if res.RowsAffected == 0 {
		return ErrNotFound
	}
	if err := tx.Where("user_id = ?", u.ID).Delete(&Registration{}).Error; err != nil {
		return err
	}
	if r != nil {
		if _, err := EndUserSessions(tx, u.ID, ""); err != nil {
			return err
		}
	}
	fresh, err := FindUser(tx, u.ID)
	if err != nil {
		return err
	}
	*u = *fresh
	return nil
}

// DeleteUnconfirmedAccount deletes u when it is still pending (IsPending): the owner of the
// address says they never signed up. ErrNotFound when it is not (any more).
func DeleteUnconfirmedAccount(tx *gorm.DB, u *User) error {
	fresh, err := FindUser(tx, u.ID)
	if err != nil {
		return err
	}
	if !fresh.IsPending() {
		return ErrNotFound
	}
	return DeleteAccount(tx, u.ID)
}

// MigrateUsers brings the users' data up to date after Migrate; the server runs it at every
// start. It creates the registrations table, marks the accounts an administrator deactivated
// (markDeactivated) and puts stored addresses in NFC (NormalizeStoredEmails), returning, and
// logging by user id, the addresses it left for an operator.
func MigrateUsers(db *gorm.DB, log *slog.Logger) ([]EmailCollision, error) {
	if err := db.AutoMigrate(&Registration{}); err != nil {
		return nil, err
	}
	if err := markDeactivated(db); err != nil {
		return nil, err
	}
	collisions, err := NormalizeStoredEmails(db)
	for _, c := range collisions {
		log.Warn("these accounts' email addresses are one address in Unicode NFC, so none was changed: an operator decides which keeps it",
			"user_ids", c.UserIDs)
	}
	return collisions, err
}

// markDeactivated sets Deactivated on the accounts an administrator deactivated before the flag
// existed: inactive ones whose address was confirmed (confirmation activated them), that have
// signed in, or that an administrator once activated. Only an administrator makes an account
// inactive after that, so what remains inactive is a registration waiting for its link. After
// the first start it finds nothing (deactivation sets the flag), so repeating it is harmless.
func markDeactivated(db *gorm.DB) error {
	return db.Exec(`UPDATE users SET deactivated = ? WHERE NOT is_active AND NOT deactivated AND (
		email_verified_at IS NOT NULL OR last_login IS NOT NULL OR id IN (
			SELECT user_id FROM security_events WHERE kind = ? AND actor_id IS NOT NULL AND detail LIKE ?))`,
		true, EventAdminChange, "Account activated%").Error
}
