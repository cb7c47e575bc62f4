package models

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cheap keeps the tests fast; one test uses DefaultHashParams.
var cheap = HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func mustHash(t *testing.T, password string, p HashParams) string {
	t.Helper()
	h, err := HashPassword(password, p)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return h
}

func TestHashPasswordDefaults(t *testing.T) {
	h := mustHash(t, "correct horse battery staple", DefaultHashParams)
	if !phcPattern.MatchString(h) {
		t.Fatalf("hash %q does not match %s", h, phcPattern)
	}
	if other := mustHash(t, "correct horse battery staple", DefaultHashParams); other == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	ok, rehash, err := CheckPassword("correct horse battery staple", h, DefaultHashParams)
	if !ok || rehash || err != nil {
		t.Errorf("CheckPassword = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
}

func TestHashPasswordRejectsBadParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    HashParams
	}{
		{"zero threads", HashParams{Memory: 1024, Time: 1, Threads: 0, KeyLen: 32}},
		{"zero time", HashParams{Memory: 1024, Time: 0, Threads: 1, KeyLen: 32}},
		{"short key", HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 8}},
		{"zero value", HashParams{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := HashPassword("secret password", tc.p); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name, stored, given string
		want                bool
	}{
		{"right password", "s3cret-pass", "s3cret-pass", true},
		{"wrong password", "s3cret-pass", "s3cret-pasS", false},
		{"empty given", "s3cret-pass", "", false},
		{"empty stored and given", "", "", true},
		{"unicode", "pässwörd-ñ", "pässwörd-ñ", true},
		{"unicode normal forms differ", "pässwörd", "pa\u0308sswörd", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, _, err := CheckPassword(tc.given, mustHash(t, tc.stored, cheap), cheap)
			if err != nil || ok != tc.want {
				t.Errorf("CheckPassword = %v, %v; want %v, nil", ok, err, tc.want)
			}
		})
	}
}

func TestCheckPasswordNeedsRehash(t *testing.T) {
	h := mustHash(t, "s3cret-pass", cheap)
	for _, tc := range []struct {
		name string
		p    HashParams
		want bool
	}{
		{"same params", cheap, false},
		{"more memory", HashParams{Memory: 2048, Time: 1, Threads: 1, KeyLen: 32}, true},
		{"more time", HashParams{Memory: 1024, Time: 2, Threads: 1, KeyLen: 32}, true},
		{"more threads", HashParams{Memory: 1024, Time: 1, Threads: 2, KeyLen: 32}, true},
		{"longer key", HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 64}, true},
		{"defaults", DefaultHashParams, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := CheckPassword("s3cret-pass", h, tc.p)
			if !ok || err != nil || rehash != tc.want {
				t.Errorf("CheckPassword = %v, %v, %v; want true, %v, nil", ok, rehash, err, tc.want)
			}
		})
	}
}

func TestCheckPasswordShortSaltNeedsRehash(t *testing.T) {
	parts := strings.Split(mustHash(t, "s3cret-pass", cheap), "$")
	// An 8-byte salt is valid but below ours; the key belongs to another salt, which does not
	// matter for the rehash flag.
	h := "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$" + parts[5]
	if _, rehash, err := CheckPassword("s3cret-pass", h, cheap); err != nil || !rehash {
		t.Errorf("rehash = %v, err = %v; want true, nil", rehash, err)
	}
}

func TestCheckPasswordInvalidHash(t *testing.T) {
	valid := mustHash(t, "s3cret-pass", cheap)
	parts := strings.Split(valid, "$") // "", "argon2id", "v=19", "m=1024,t=1,p=1", salt, key
	with := func(i int, s string) string {
		p := slices.Clone(parts)
		p[i] = s
		return strings.Join(p, "$")
	}
	for _, tc := range []struct{ name, hash string }{
		{"empty", ""},
		{"plain text", "s3cret-pass"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"django pbkdf2", "pbkdf2_sha256$600000$salt$aGFzaA=="},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"old version", with(2, "v=16")},
		{"no version", strings.Join(slices.Delete(slices.Clone(parts), 2, 3), "$")},
		{"missing key", strings.Join(parts[:5], "$")},
		{"extra field", valid + "$AAAA"},
		{"leading text", "x" + valid},
		{"trailing dollar", valid + "$"},
		{"params reordered", with(3, "t=1,m=1024,p=1")},
		{"params missing", with(3, "m=1024,t=1")},
		{"params extra", with(3, "m=1024,t=1,p=1,x=2")},
		{"params not numbers", with(3, "m=abc,t=1,p=1")},
		{"params negative", with(3, "m=-1024,t=1,p=1")},
		{"params signed", with(3, "m=+1024,t=1,p=1")},
		{"params overflow", with(3, "m=4294967296,t=1,p=1")},
		{"params with spaces", with(3, "m=1024, t=1, p=1")},
		{"memory over 1 GiB", with(3, "m=1048577,t=1,p=1")},
		{"memory max uint32", with(3, "m=4294967295,t=1,p=1")},
		{"memory zero", with(3, "m=0,t=1,p=1")},
		{"memory below 8 per thread", with(3, "m=15,t=1,p=2")},
		{"time zero", with(3, "m=1024,t=0,p=1")},
		{"time over 100", with(3, "m=1024,t=101,p=1")},
		{"threads zero", with(3, "m=1024,t=1,p=0")},
		{"threads over 255", with(3, "m=1024,t=1,p=257")}, // 257 would wrap to 1 in a uint8
		{"salt not base64", with(4, "!!!!notbase64!!!!")},
		{"salt padded", with(4, parts[4]+"==")},
		{"salt empty", with(4, "")},
		{"salt too short", with(4, "c2FsdA")},
		{"salt too long", with(4, strings.Repeat("A", 100))},
		{"key not base64", with(5, "***")},
		{"key padded", with(5, parts[5]+"=")},
		{"key empty", with(5, "")},
		{"key too short", with(5, "AAAAAAAAAAA")},
		{"key too long", with(5, strings.Repeat("A", 200))},
		{"key non-canonical trailing bits", with(5, parts[5][:42]+"B")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := CheckPassword("s3cret-pass", tc.hash, cheap)
			if !errors.Is(err, ErrInvalidHash) || ok || rehash {
				t.Errorf("CheckPassword(%q) = %v, %v, %v; want false, false, ErrInvalidHash", tc.hash, ok, rehash, err)
			}
		})
	}
}

func TestCheckPasswordTamperedKey(t *testing.T) {
	h := mustHash(t, "s3cret-pass", cheap)
	// The last character carries padding bits, so change the one before it.
	i := len(h) - 2
	c := byte('A')
	if h[i] == 'A' {
		c = 'B'
	}
	ok, _, err := CheckPassword("s3cret-pass", h[:i]+string(c)+h[i+1:], cheap)
	if ok || err != nil {
		t.Errorf("CheckPassword with a changed key = %v, %v; want false, nil", ok, err)
	}
}

func TestDummyCheck(t *testing.T) {
	DummyCheck("anything", cheap)
	DummyCheck("anything else", cheap)
	h := dummyHash(cheap)
	if _, _, err := CheckPassword("x", h, cheap); err != nil {
		t.Fatalf("dummy hash %q does not parse: %v", h, err)
	}
	if !strings.Contains(h, "$m=1024,t=1,p=1$") {
		t.Errorf("dummy hash %q is not made with the given params", h)
	}
	if again := dummyHash(cheap); again != h {
		t.Error("dummy hash is computed again on each call")
	}
}

func TestValidatePassword(t *testing.T) {
	const (
		tooShort = "This password is too short. It must contain at least 8 characters."
		numeric  = "This password is entirely numeric."
		common   = "This password is too common."
	)
	alice := UserAttrs{Username: "alicesmith", Email: "a.w.1987@example.com", FirstName: "Alice", LastName: "Wonderland"}
	for _, tc := range []struct {
		name     string
		password string
		attrs    UserAttrs
		want     []string
	}{
		{"strong", "correct horse battery staple", alice, nil},
		{"strong without attrs", "Tr0ub4dor&3-zebra", UserAttrs{}, nil},
		{"seven characters", "xk3#vQz", UserAttrs{}, []string{tooShort}},
		{"eight characters", "xk3#vQz9", UserAttrs{}, nil},
		{"eight runes in more bytes", "ñéüßøåçä", UserAttrs{}, nil},
		{"seven runes in more bytes", "ñéüßøåç", UserAttrs{}, []string{tooShort}},
		{"empty", "", UserAttrs{}, []string{tooShort}},
		{"numeric", "80482913577", UserAttrs{}, []string{numeric}},
		{"numeric other script", "٣٤٥٦٧٨٩٠١٢", UserAttrs{}, []string{numeric}},
		{"digits and a letter", "80482913577x", UserAttrs{}, nil},
		{"common", "password1", UserAttrs{}, []string{common}},
		{"common mixed case", "Password1", UserAttrs{}, []string{common}},
		{"common upper case with spaces", "  QWERTYUIOP ", UserAttrs{}, []string{common}},
		{"common leetspeak", "P@ssw0rd", UserAttrs{}, []string{common}},
		{"common short and numeric", "123456", UserAttrs{}, []string{tooShort, common, numeric}},
		{"same as username", "AliceSmith", alice, []string{"The password is too similar to the username."}},
		{"username plus digits", "alicesmith1", alice, []string{"The password is too similar to the username."}},
		{"like email address", "A.W.1987@example", alice, []string{"The password is too similar to the email address."}},
		{"like email domain part", "examples1", alice, []string{"The password is too similar to the email address."}},
		{"like first name", "Alice_987", alice, []string{"The password is too similar to the first name."}},
		{"like last name", "Wonderland!", alice, []string{"The password is too similar to the last name."}},
		{"name among other words", "alice2024!", alice, nil},
		{"short attribute parts ignored", "Al", UserAttrs{FirstName: "Al"}, []string{tooShort}},
		{"empty attributes ignored", "kangaroo-lamp-42", UserAttrs{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidatePassword(tc.password, tc.attrs); !slices.Equal(got, tc.want) {
				t.Errorf("ValidatePassword(%q) = %q; want %q", tc.password, got, tc.want)
			}
		})
	}
}

func TestValidatePasswordTooLong(t *testing.T) {
	for _, tc := range []struct {
		name     string
		password string
		tooLong  bool
	}{
		{"256 bytes", strings.Repeat("xk3#vQz9", 32), false},
		{"257 bytes", strings.Repeat("xk3#vQz9", 32) + "a", true},
		{"129 two-byte runes", strings.Repeat("ñ", 129), true},
		{"a megabyte", strings.Repeat("ab", 1<<19), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ValidatePassword(tc.password, UserAttrs{Username: "alicesmith"})
			isTooLong := len(got) == 1 && strings.HasPrefix(got[0], "This password is too long.")
			if isTooLong != tc.tooLong || (!tc.tooLong && len(got) != 0) {
				t.Errorf("ValidatePassword(%d bytes) = %q; want too long: %v", len(tc.password), got, tc.tooLong)
			}
		})
	}
}

func TestCommonPasswordsList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 1000 {
		t.Errorf("common list has %d entries; want at least 1000", len(set))
	}
	lines := strings.Split(strings.TrimSuffix(commonPasswordsText, "\n"), "\n")
	if len(lines) != len(set) {
		t.Errorf("list has %d lines but %d distinct entries: duplicates or blank lines", len(lines), len(set))
	}
	for _, line := range lines {
		if line != strings.ToLower(strings.TrimSpace(line)) {
			t.Errorf("entry %q is not trimmed lower case, so it can never match", line)
		}
	}
}

// Expected ratios are Python's difflib.SequenceMatcher(None, a, b, autojunk=False).ratio().
func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"alicesmith", "alicesmith", 1},
		{"alice123", "alice", 10.0 / 13},
		{"alice2024!", "alice", 10.0 / 15},
		{"abcd", "bcde", 0.75},
		{"abxcd", "abcd", 8.0 / 9},
		{"qxabcd", "xqabcd", 10.0 / 12},
		{"chrischris", "christopher", 2.0 / 3},
		{"ab", "ba", 0.5},
		{"", "abc", 0},
		{"", "", 1},
		{"ñandú", "nandu", 0.6},
	} {
		t.Run(tc.a+"~"+tc.b, func(t *testing.T) {
			if got := similarity(tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("similarity = %v; want %v", got, tc.want)
			}
		})
	}
}
