package models

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// HashParams are argon2id's cost parameters. Memory is in KiB.
type HashParams struct {
	Memory  uint32
	Time    uint32
	Threads uint8
	KeyLen  uint32
}

// DefaultHashParams is OWASP's recommended minimum for argon2id (19 MiB, 2 passes, 1 lane).
var DefaultHashParams = HashParams{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32}

// ErrInvalidHash means a stored hash is not an argon2id PHC string with sane parameters.
var ErrInvalidHash = errors.New("invalid password hash")

const saltLen = 16

// Bounds on parameters read from a stored hash, so that a tampered row cannot make one login
// allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 1 << 20
	maxTime      = 100
	minKeyLen    = 16
	maxKeyLen    = 128
	minSaltLen   = 8
	maxSaltLen   = 64
)

var b64 = base64.RawStdEncoding.Strict()

// HashPassword returns password's argon2id hash as a PHC string with a fresh random salt.
func HashPassword(password string, p HashParams) (string, error) {
	if !p.sane() {
		return "", fmt.Errorf("argon2id parameters out of range: %+v", p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches the encoded hash and whether the hash should
// be replaced because it was made with parameters (or a salt length) other than p's.
func CheckPassword(password, encoded string, p HashParams) (ok bool, needsRehash bool, err error) {
	stored, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, stored.Time, stored.Memory, stored.Threads, stored.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	return ok, stored != p || len(salt) != saltLen, nil
}

// DummyCheck costs what CheckPassword costs against a hash made with p, so a login for an
// unknown account takes as long as one for a real account.
func DummyCheck(password string, p HashParams) {
	_, _, _ = CheckPassword(password, dummyHash(p), p)
}

var dummyHashes = struct {
	sync.Mutex
	byParams map[HashParams]string
}{byParams: map[HashParams]string{}}

func dummyHash(p HashParams) string {
	dummyHashes.Lock()
	defer dummyHashes.Unlock()
	h, ok := dummyHashes.byParams[p]
	if !ok {
		h, _ = HashPassword("not the password of any account", p)
		dummyHashes.byParams[p] = h
	}
	return h
}

func (p HashParams) sane() bool {
	return p.Memory >= 8*uint32(p.Threads) && p.Memory <= maxMemoryKiB &&
		p.Time >= 1 && p.Time <= maxTime && p.Threads >= 1 &&
		p.KeyLen >= minKeyLen && p.KeyLen <= maxKeyLen
}

// decodeHash parses "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func decodeHash(encoded string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" ||
		parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrInvalidHash
	}
	p, ok := parseCosts(parts[3])
	if !ok {
		return p, nil, nil, ErrInvalidHash
	}
	salt, errSalt := b64.DecodeString(parts[4])
	key, errKey := b64.DecodeString(parts[5])
	p.KeyLen = uint32(len(key))
	if errSalt != nil || errKey != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen || !p.sane() {
		return p, nil, nil, ErrInvalidHash
	}
	return p, salt, key, nil
}

// parseCosts parses "m=M,t=T,p=P", strictly in that order.
func parseCosts(s string) (HashParams, bool) {
	fields := strings.Split(s, ",")
	names := [...]string{"m=", "t=", "p="}
	if len(fields) != len(names) {
		return HashParams{}, false
	}
	var vals [len(names)]uint64
	for i, name := range names {
		digits, found := strings.CutPrefix(fields[i], name)
		n, err := strconv.ParseUint(digits, 10, 32)
		if !found || err != nil {
			return HashParams{}, false
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return HashParams{}, false
	}
	return HashParams{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}, true
}

// UserAttrs are the account's fields a password must not resemble.
type UserAttrs struct {
	Username, Email, FirstName, LastName string
}

// Attrs are u's attributes a password must not resemble.
func (u *User) Attrs() UserAttrs {
	return UserAttrs{Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
}

const (
	minPasswordRunes = 8
	// argon2 costs the same for any length; the cap bounds the similarity check, which is
	// quadratic, and what a form post can make us hold.
	maxPasswordBytes = 256
	maxSimilarity    = 0.7
	minAttrPartRunes = 3
)

// ValidatePassword returns what is wrong with password as messages for the user, in the
// manner of Django's default validators; none means it is acceptable.
func ValidatePassword(password string, u UserAttrs) []string {
	if len(password) > maxPasswordBytes {
		return []string{fmt.Sprintf("This password is too long. It must contain at most %d bytes "+
			"(letters outside A–Z count as two or more).", maxPasswordBytes)}
	}
	var problems []string
	for _, check := range []func(string, UserAttrs) string{
		checkSimilarity, checkMinLength, checkCommon, checkNumeric,
	} {
		if msg := check(password, u); msg != "" {
			problems = append(problems, msg)
		}
	}
	return problems
}

func checkMinLength(password string, _ UserAttrs) string {
	if utf8.RuneCountInString(password) < minPasswordRunes {
		return fmt.Sprintf("This password is too short. It must contain at least %d characters.", minPasswordRunes)
	}
	return ""
}

func checkNumeric(password string, _ UserAttrs) string {
	if password != "" && strings.IndexFunc(password, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return "This password is entirely numeric."
	}
	return ""
}

// commonPasswordsText is a list of well-known passwords from public breach corpora (the
// "top N" lists: RockYou, the 10-million-password list, SplashData and NordPass yearly lists),
// each checked against Django's common-passwords list except a few newer "name@123" forms.
// Most are 8 characters or more, since shorter ones already fail the length rule.
//
//go:embed common_passwords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{})
	for line := range strings.Lines(commonPasswordsText) {
		if line = strings.TrimSpace(line); line != "" {
			set[line] = struct{}{}
		}
	}
	return set
})

func checkCommon(password string, _ UserAttrs) string {
	if _, found := commonPasswords()[strings.TrimSpace(strings.ToLower(password))]; found {
		return "This password is too common."
	}
	return ""
}

// checkSimilarity follows Django's UserAttributeSimilarityValidator: the password must not
// resemble an attribute, nor any word-character run of it (so the pieces of an email address).
func checkSimilarity(password string, u UserAttrs) string {
	password = strings.ToLower(password)
	for _, attr := range []struct{ name, value string }{
		{"username", u.Username}, {"email address", u.Email},
		{"first name", u.FirstName}, {"last name", u.LastName},
	} {
		if similarToAny(password, strings.ToLower(attr.value)) {
			return "The password is too similar to the " + attr.name + "."
		}
	}
	return ""
}

func similarToAny(password, value string) bool {
	parts := strings.FieldsFunc(value, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	})
	for _, part := range append(parts, value) {
		if utf8.RuneCountInString(part) >= minAttrPartRunes && similarity(password, part) >= maxSimilarity {
			return true
		}
	}
	return false
}

// similarity is the Ratcliff/Obershelp ratio of Python's difflib.SequenceMatcher (without
// its junk heuristics): twice the matching runes over the total runes.
func similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra)+len(rb) == 0 {
		return 1
	}
	return 2 * float64(matchingRunes(ra, rb)) / float64(len(ra)+len(rb))
}

// matchingRunes counts the runes of the longest common block, then recursively those of the
// blocks to its left and to its right.
func matchingRunes(a, b []rune) int {
	i, j, n := longestCommonBlock(a, b)
	if n == 0 {
		return 0
	}
	return n + matchingRunes(a[:i], b[:j]) + matchingRunes(a[i+n:], b[j+n:])
}

// longestCommonBlock finds the longest common substring, the earliest in a and then in b on
// ties, as difflib does.
func longestCommonBlock(a, b []rune) (i, j, n int) {
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for x := range a {
		for y := range b {
			cur[y+1] = 0
			if a[x] == b[y] {
				cur[y+1] = prev[y] + 1
			}
			if cur[y+1] > n {
				n = cur[y+1]
				i, j = x-n+1, y-n+1
			}
		}
		prev, cur = cur, prev
	}
	return i, j, n
}
