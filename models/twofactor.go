package models

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// Two-factor sign-in: a TOTP authenticator (RFC 6238: SHA1, 6 digits, 30-second steps) and ten
// single-use recovery codes. User.TwoFactor says it is on; the secret and the codes live in
// their own tables, which a sign-in without two-factor never reads.

// Kinds of two-factor security events.
const (
	EventTwoFactorEnabled  = "two_factor_enabled"
	EventTwoFactorDisabled = "two_factor_disabled"
	EventTwoFactorFailure  = "two_factor_failure"
	EventRecoveryCodeUsed  = "recovery_code_used"
	EventRecoveryCodesNew  = "recovery_codes_new"
)

// describeTwoFactorEvent is DescribeEvent for the two-factor kinds; any other kind is returned
// as it is.
func describeTwoFactorEvent(kind string) string {
	switch kind {
	case EventTwoFactorEnabled:
		return "Two-factor sign-in turned on"
	case EventTwoFactorDisabled:
		return "Two-factor sign-in turned off"
	case EventTwoFactorFailure:
		return "Wrong two-factor code"
	case EventRecoveryCodeUsed:
		return "Recovery code used"
	case EventRecoveryCodesNew:
		return "New recovery codes made"
	}
	return describePasskeyEvent(kind)
}

// TwoFactorSecret is the authenticator secret of a user with two-factor on.
type TwoFactorSecret struct {
	UserID uint `gorm:"primaryKey;autoIncrement:false"`
	User   User `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	// Sealed is the base32 secret sealed by TwoFactorKeys.Seal: a copy of the database without
	// TALLY_SECRET cannot make codes, and a sealed value moved to another user's row does not open.
	Sealed []byte `gorm:"not null" json:"-"`
	// LastStep is the latest 30-second step whose code was accepted. A code of that step or an
	// older one is refused: a code seen over a shoulder or a proxy's log works once.
	LastStep   int64     `gorm:"not null" json:"-"`
	EnabledAt  time.Time `gorm:"not null"`
	LastUsedAt *time.Time
}

// RecoveryCode is one single-use code that signs in without the authenticator.
//
// Codes are stored as HMAC-SHA256 under a key derived from TALLY_SECRET, not with argon2id like
// passwords: a code has 50 random bits (nobody chose it, so there is no dictionary to try), so
// without the key guessing from a stolen database is hopeless, and an attacker who has the key
// too can unseal the authenticator secret anyway. A keyed hash also makes a typed code one
// indexed lookup, where ten salted argon2 hashes (one per code, ~40 ms each on the hash gate)
// would be checked for every attempt and made for every new set.
type RecoveryCode struct {
	ID        uint      `gorm:"primaryKey"`
	UserID    uint      `gorm:"not null;index:idx_recovery_codes_user_hash,priority:1"`
	User      User      `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	Hash      string    `gorm:"size:64;not null;index:idx_recovery_codes_user_hash,priority:2" json:"-"`
	CreatedAt time.Time `gorm:"not null"`
	// UsedAt is kept for the record: a used code stays, refused.
	UsedAt *time.Time
}

// ErrTwoFactorOn: two-factor is on already (two enrolments raced, or a second tab).
var ErrTwoFactorOn = errors.New("two-factor sign-in is on already")

// TwoFactorKeys seals authenticator secrets and hashes recovery codes with keys derived from
// the server secret (HKDF-SHA256, one label per use), never with the secret itself.
type TwoFactorKeys struct {
	aead    cipher.AEAD
	codeKey []byte
}

// NewTwoFactorKeys derives the keys from TALLY_SECRET.
func NewTwoFactorKeys(secret []byte) (*TwoFactorKeys, error) {
	sealKey, err := hkdf.Key(sha256.New, secret, nil, "tally two-factor secret v1", 32)
	if err != nil {
		return nil, err
	}
	codeKey, err := hkdf.Key(sha256.New, secret, nil, "tally recovery code v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &TwoFactorKeys{aead: aead, codeKey: codeKey}, nil
}

// sealedFor is the associated data of userID's values: a value sealed for one user does not
// open for another.
func sealedFor(userID uint) []byte {
	return []byte("tally-2fa\x00" + strconv.FormatUint(uint64(userID), 10))
}

// Seal encrypts secret for userID with AES-256-GCM under a fresh random nonce, which leads the
// result.
func (k *TwoFactorKeys) Seal(userID uint, secret string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand does not fail on supported platforms
	return k.aead.Seal(nonce, nonce, []byte(secret), sealedFor(userID))
}

// ErrSealBroken: a sealed value that does not open (another user's, altered, or sealed under
// another TALLY_SECRET).
var ErrSealBroken = errors.New("two-factor secret does not open")

// Open decrypts what Seal made for userID.
func (k *TwoFactorKeys) Open(userID uint, sealed []byte) (string, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return "", ErrSealBroken
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], sealedFor(userID))
	if err != nil {
		return "", ErrSealBroken
	}
	return string(plain), nil
}

// codeHash is the stored form of a normalized recovery code of userID.
func (k *TwoFactorKeys) codeHash(userID uint, code string) string {
	m := hmac.New(sha256.New, k.codeKey)
	m.Write(sealedFor(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// TOTP parameters: what every authenticator app supports.
const (
	totpPeriod = 30
	totpIssuer = "Tally"
)

var totpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTPSecret makes a base32 secret of 20 random bytes.
func NewTOTPSecret() (string, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: "new", SecretSize: 20,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Period: totpPeriod})
	if err != nil {
		return "", err
	}
	return key.Secret(), nil
}

// TOTPKey is the authenticator key of secret for username: its otpauth:// URL and QR code.
func TOTPKey(username, secret string) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return nil, err
	}
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: username, Secret: raw,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Period: totpPeriod})
}

// TOTPStep is the 30-second step t falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// MatchTOTP returns the step whose code is code, trying now's step and one either side (a
// phone's clock may be up to 30 seconds off, and a code typed at the end of its step arrives in
// the next); ok is false when none matches.
func MatchTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	if len(code) != 6 {
		return 0, false
	}
	cur := TOTPStep(now)
	for _, s := range []int64{cur - 1, cur, cur + 1} {
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// IsTOTPCode reports whether a typed code (NormalizeCode) has the shape of an authenticator's:
// six digits. Anything else is tried as a recovery code.
func IsTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// NormalizeCode takes what was typed into a code field: spaces and dashes go (apps show
// "123 456", recovery codes are shown "xxxxx-xxxxx"), letters are lower-cased.
func NormalizeCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 32 {
		return ""
	}
	return strings.ToLower(s)
}

// recoveryAlphabet is Crockford's base32 in lower case: no i, l, o or u, so nothing reads as
// something else, and 32 letters make each character 5 random bits (50 bits a code).
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryCodeLen is the length of a recovery code without its dash.
const recoveryCodeLen = 10

// RecoveryCodeCount is how many codes a set has.
const RecoveryCodeCount = 10

// NewRecoveryCodes makes a set of codes, as shown to the user ("xxxxx-xxxxx").
func NewRecoveryCodes() []string {
	codes := make([]string, RecoveryCodeCount)
	buf := make([]byte, recoveryCodeLen)
	for i := range codes {
		_, _ = rand.Read(buf) // crypto/rand does not fail on supported platforms
		for j, b := range buf {
			buf[j] = recoveryAlphabet[b&31] // 256 is a multiple of 32: uniform
		}
		codes[i] = string(buf[:5]) + "-" + string(buf[5:])
	}
	return codes
}

// recoveryCodeKey is a typed recovery code as stored (its hash's input): the letters Crockford
// reads as digits become them, and anything not a code is "".
func recoveryCodeKey(code string) string {
	code = strings.Map(func(r rune) rune {
		switch r {
		case 'o':
			return '0'
		case 'i', 'l':
			return '1'
		}
		return r
	}, NormalizeCode(code))
	if len(code) != recoveryCodeLen {
		return ""
	}
	for _, r := range code {
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return ""
		}
	}
	return code
}

// EnableTwoFactor turns two-factor on for u with secret, whose code of step was just typed (so
// that step counts as used), and stores codes (NewRecoveryCodes) as the recovery codes, inside
// tx. ErrTwoFactorOn when it is on already.
func EnableTwoFactor(tx *gorm.DB, k *TwoFactorKeys, u *User, secret string, step int64, codes []string, now time.Time) error {
	res := tx.Model(&User{}).Where("id = ? AND NOT two_factor", u.ID).Update("two_factor", true)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrTwoFactorOn
	}
	if err := tx.Where("user_id = ?", u.ID).Delete(&TwoFactorSecret{}).Error; err != nil {
		return err
	}
	row := TwoFactorSecret{UserID: u.ID, Sealed: k.Seal(u.ID, secret), LastStep: step, EnabledAt: now}
	if err := tx.Create(&row).Error; err != nil {
		return err
	}
	if err := ReplaceRecoveryCodes(tx, k, u.ID, codes, now); err != nil {
		return err
	}
	u.TwoFactor = true
	return nil
}

// DisableTwoFactor turns two-factor off for userID inside tx: the secret and every recovery
// code go. It reports whether it was on.
func DisableTwoFactor(tx *gorm.DB, userID uint) (bool, error) {
	res := tx.Model(&User{}).Where("id = ? AND two_factor", userID).Update("two_factor", false)
	if res.Error != nil {
		return false, res.Error
	}
	if err := tx.Where("user_id = ?", userID).Delete(&TwoFactorSecret{}).Error; err != nil {
		return false, err
	}
	if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
		return false, err
	}
	return res.RowsAffected > 0, nil
}

// ReplaceRecoveryCodes makes codes the whole set of userID's recovery codes inside tx: every
// earlier code, used or not, goes.
func ReplaceRecoveryCodes(tx *gorm.DB, k *TwoFactorKeys, userID uint, codes []string, now time.Time) error {
	if err := tx.Where("user_id = ?", userID).Delete(&RecoveryCode{}).Error; err != nil {
		return err
	}
	rows := make([]RecoveryCode, 0, len(codes))
	for _, c := range codes {
		key := recoveryCodeKey(c)
		if key == "" {
			return errors.New("not a recovery code")
		}
		rows = append(rows, RecoveryCode{UserID: userID, Hash: k.codeHash(userID, key), CreatedAt: now})
	}
	return tx.Create(&rows).Error
}

// FindTwoFactor loads userID's secret row; ErrNotFound when two-factor is off.
func FindTwoFactor(db *gorm.DB, userID uint) (*TwoFactorSecret, error) {
	var rows []TwoFactorSecret
	if err := db.Where("user_id = ?", userID).Limit(1).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// UseTOTP accepts code for userID when it is the code of a step in now's window that is later
// than the last one used, and records that step as used. The step moves with a conditional
// UPDATE, so of two requests with the same code (or racing codes of one step) only one wins.
func UseTOTP(db *gorm.DB, k *TwoFactorKeys, userID uint, code string, now time.Time) (bool, error) {
	row, err := FindTwoFactor(db, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	secret, err := k.Open(userID, row.Sealed)
	if err != nil {
		return false, err
	}
	step, ok := MatchTOTP(secret, code, now)
	if !ok || step <= row.LastStep {
		return false, nil
	}
	return ConsumeTOTPStep(db, userID, step, now)
}

// ConsumeTOTPStep records step as userID's last used step when it is later than the one stored,
// and reports whether it was: the row read before may be stale by now (another request with the
// same code), so the condition is in the UPDATE.
func ConsumeTOTPStep(db *gorm.DB, userID uint, step int64, now time.Time) (bool, error) {
	res := db.Model(&TwoFactorSecret{}).Where("user_id = ? AND last_step < ?", userID, step).
		Updates(map[string]any{"last_step": step, "last_used_at": now})
	return res.RowsAffected == 1, res.Error
}

// UseRecoveryCode accepts code for userID, inside tx, when it is one of their unused recovery
// codes, and marks it used; left is how many unused codes remain. The mark is a conditional
// UPDATE: a code works once even when sent twice at the same moment.
func UseRecoveryCode(tx *gorm.DB, k *TwoFactorKeys, userID uint, code string, now time.Time) (ok bool, left int64, err error) {
	key := recoveryCodeKey(code)
	if key == "" {
		return false, 0, nil
	}
	res := tx.Model(&RecoveryCode{}).Where("user_id = ? AND hash = ? AND used_at IS NULL", userID, k.codeHash(userID, key)).
		Update("used_at", now)
	if res.Error != nil || res.RowsAffected == 0 {
		return false, 0, res.Error
	}
	if err := tx.Model(&TwoFactorSecret{}).Where("user_id = ?", userID).Update("last_used_at", now).Error; err != nil {
		return false, 0, err
	}
	left, err = RecoveryCodesLeft(tx, userID)
	return err == nil, left, err
}

// RecoveryCodesLeft counts userID's unused recovery codes.
func RecoveryCodesLeft(db *gorm.DB, userID uint) (int64, error) {
	var n int64
	err := db.Model(&RecoveryCode{}).Where("user_id = ? AND used_at IS NULL", userID).Count(&n).Error
	return n, err
}

// TwoFactorStatus is what the account page, the admin and the export say about a user's
// two-factor sign-in: never the secret or the codes.
type TwoFactorStatus struct {
	Enabled    bool
	EnabledAt  *time.Time
	LastUsedAt *time.Time
	CodesLeft  int64
}

// FindTwoFactorStatus reads userID's status.
func FindTwoFactorStatus(db *gorm.DB, userID uint) (TwoFactorStatus, error) {
	row, err := FindTwoFactor(db, userID)
	if errors.Is(err, ErrNotFound) {
		return TwoFactorStatus{}, nil
	} else if err != nil {
		return TwoFactorStatus{}, err
	}
	left, err := RecoveryCodesLeft(db, userID)
	if err != nil {
		return TwoFactorStatus{}, err
	}
	return TwoFactorStatus{Enabled: true, EnabledAt: &row.EnabledAt, LastUsedAt: row.LastUsedAt, CodesLeft: left}, nil
}
