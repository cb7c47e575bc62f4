package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Token purposes. A token made for one purpose is refused for every other.
const (
	PurposeVerify      = "verify"
	PurposeReset       = "reset"
	PurposeEmailChange = "email"
)

// Token errors; handlers show the same friendly page for all of them.
var (
	ErrTokenInvalid = errors.New("link is invalid")
	ErrTokenExpired = errors.New("link has expired")
)

// Tokens signs and checks single-use links with the server secret (HMAC-SHA256). Like
// Django's PasswordResetTokenGenerator, a token is bound to the account state it changes (active
// flag, password hash, email, last login), so it dies as soon as it has been used or that state
// changes for another reason.
type Tokens struct {
	Secret []byte
}

// Make returns a token for u and purpose issued at now; extra carries purpose data (the new
// address of an email change) and is signed too.
func (t Tokens) Make(u *User, purpose, extra string, now time.Time) string {
	payload := strings.Join([]string{
		strconv.FormatUint(uint64(u.ID), 10), purpose, strconv.FormatInt(now.Unix(), 10),
		base64.RawURLEncoding.EncodeToString([]byte(extra)),
	}, ".")
	return payload + "." + t.sign(u, payload)
}

func (t Tokens) sign(u *User, payload string) string {
	mac := hmac.New(sha256.New, t.Secret)
	mac.Write([]byte("tally-token-v1\x00" + payload + "\x00"))
	mac.Write([]byte(u.stateFingerprint()))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// stateFingerprint is the account state a token is bound to.
func (u *User) stateFingerprint() string {
	last := ""
	if u.LastLogin != nil {
		last = strconv.FormatInt(u.LastLogin.Unix(), 10)
	}
	return strings.Join([]string{strconv.FormatBool(u.IsActive), u.PasswordHash, u.Email, last}, "\x00")
}

// ParsedToken is the unverified content of a token: enough to load the user it names.
type ParsedToken struct {
	UserID   uint
	Purpose  string
	IssuedAt time.Time
	Extra    string
	payload  string
	mac      string
}

// Parse splits a token without trusting it; Verify then checks it against the user.
func (t Tokens) Parse(token, purpose string) (*ParsedToken, error) {
	parts := strings.Split(token, ".")
	if len(token) > 1024 || len(parts) != 5 || parts[1] != purpose {
		return nil, ErrTokenInvalid
	}
	id, err1 := strconv.ParseUint(parts[0], 10, 32)
	issued, err2 := strconv.ParseInt(parts[2], 10, 64)
	extra, err3 := base64.RawURLEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || id == 0 {
		return nil, ErrTokenInvalid
	}
	return &ParsedToken{UserID: uint(id), Purpose: purpose, IssuedAt: time.Unix(issued, 0).UTC(), Extra: string(extra),
		payload: strings.Join(parts[:4], "."), mac: parts[4]}, nil
}

// Verify checks the signature against u's current state and the age against ttl.
func (t Tokens) Verify(p *ParsedToken, u *User, now time.Time, ttl time.Duration) error {
	if u.ID != p.UserID || !hmac.Equal([]byte(t.sign(u, p.payload)), []byte(p.mac)) {
		return ErrTokenInvalid
	}
	if now.Sub(p.IssuedAt) > ttl || p.IssuedAt.After(now.Add(time.Minute)) {
		return ErrTokenExpired
	}
	return nil
}
