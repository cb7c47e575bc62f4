package models

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/testkit/testdb"
)

func openTestDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := Open(testdb.Target(t, t.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Migrate(db); err != nil {
		t.Fatal(err)
	}
	if _, err := MigrateUsers(db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(db) })
	return db
}

func mustCreate(t *testing.T, db *gorm.DB, username, email, password string, p HashParams) *User {
	t.Helper()
	hash, err := HashPassword(password, p)
	if err != nil {
		t.Fatal(err)
	}
	u, err := CreateUser(db, NewUser{Username: username, Email: email, PasswordHash: hash, Active: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCreateUserUniqueness(t *testing.T) {
	db := openTestDB(t)
	mustCreate(t, db, "Ada", "ada@example.com", "pw-123456789", cheap)
	for _, tc := range []struct {
		name, username, email string
		want                  error
	}{
		{"username in other case", "ADA", "other@example.com", ErrUsernameTaken},
		{"email in other case", "other", "ADA@Example.com", ErrEmailTaken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CreateUser(db, NewUser{Username: tc.username, Email: tc.email, PasswordHash: "x"}, time.Now())
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyPassword(t *testing.T) {
	old := HashParams{Memory: 2048, Time: 1, Threads: 1, KeyLen: 32}
	hash, err := HashPassword("pw-123456789", old)
	if err != nil {
		t.Fatal(err)
	}
	u := &User{PasswordHash: hash}
	for _, tc := range []struct {
		name             string
		user             *User
		password         string
		params           HashParams
		wantOK, wantHash bool
	}{
		{"right password", u, "pw-123456789", old, true, false},
		{"right password, parameters changed", u, "pw-123456789", cheap, true, true},
		{"wrong password, parameters changed", u, "wrong", cheap, false, false},
		{"unknown user", nil, "pw-123456789", cheap, false, false},
		{"malformed hash", &User{PasswordHash: "$argon2id$garbage"}, "pw-123456789", cheap, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash := VerifyPassword(tc.user, tc.password, tc.params)
			if ok != tc.wantOK || rehash != tc.wantHash {
				t.Errorf("ok=%v rehash=%v, want %v %v", ok, rehash, tc.wantOK, tc.wantHash)
			}
		})
	}
}

func TestValidateUsernameAndEmail(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ada", true}, {"a.b-c_d", true}, {"ab", false}, {strings.Repeat("a", 31), false}, {"ada lovelace", false},
		{"ada@home", false}, {"ådä", false},
	} {
		if got := ValidateUsername(tc.in) == ""; got != tc.ok {
			t.Errorf("ValidateUsername(%q) ok=%v, want %v", tc.in, got, tc.ok)
		}
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ada@example.com", true}, {"a.b+c@sub.example.org", true}, {"ada@", false}, {"@example.com", false},
		{"ada@localhost", false}, {"Ada <ada@example.com>", false}, {"ada@example.com.", false},
		{strings.Repeat("a", 65) + "@example.com", false}, {"ada\n@example.com", false},
	} {
		if got := ValidateEmail(tc.in) == ""; got != tc.ok {
			t.Errorf("ValidateEmail(%q) ok=%v, want %v", tc.in, got, tc.ok)
		}
	}
}

func TestTokens(t *testing.T) {
	tokens := Tokens{Secret: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	u := &User{ID: 7, Email: "ada@example.com", PasswordHash: "h1"}
	tok := tokens.Make(u, PurposeReset, "", now)
	check := func(token, purpose string, u *User, at time.Time) error {
		p, err := tokens.Parse(token, purpose)
		if err != nil {
			return err
		}
		return tokens.Verify(p, u, at, time.Hour)
	}
	changed := *u
	changed.PasswordHash = "h2"
	loggedIn := *u
	loggedIn.LastLogin = &now
	other := *u
	other.ID = 8
	for _, tc := range []struct {
		name    string
		token   string
		purpose string
		user    *User
		at      time.Time
		want    error
	}{
		{"valid", tok, PurposeReset, u, now.Add(59 * time.Minute), nil},
		{"expired", tok, PurposeReset, u, now.Add(61 * time.Minute), ErrTokenExpired},
		{"other purpose", tok, PurposeVerify, u, now, ErrTokenInvalid},
		{"password changed", tok, PurposeReset, &changed, now, ErrTokenInvalid},
		{"logged in since", tok, PurposeReset, &loggedIn, now, ErrTokenInvalid},
		{"other user", tok, PurposeReset, &other, now, ErrTokenInvalid},
		{"tampered mac", tok[:len(tok)-2] + "AA", PurposeReset, u, now, ErrTokenInvalid},
		{"other secret", Tokens{Secret: []byte("another-secret-another-secret-xx")}.Make(u, PurposeReset, "", now), PurposeReset, u, now, ErrTokenInvalid},
		{"garbage", "a.b.c", PurposeReset, u, now, ErrTokenInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := check(tc.token, tc.purpose, tc.user, tc.at); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("extra is signed", func(t *testing.T) {
		tok := tokens.Make(u, PurposeEmailChange, "new@example.com", now)
		p, err := tokens.Parse(tok, PurposeEmailChange)
		if err != nil || p.Extra != "new@example.com" || tokens.Verify(p, u, now, time.Hour) != nil {
			t.Fatalf("round trip: %v %+v", err, p)
		}
		p.Extra = "evil@example.com"
		forged := strings.Join([]string{"7", PurposeEmailChange, strings.Split(tok, ".")[2], "ZXZpbEBleGFtcGxlLmNvbQ", strings.Split(tok, ".")[4]}, ".")
		if err := check(forged, PurposeEmailChange, u, now); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("changed extra accepted: %v", err)
		}
	})
}

func TestDeviceName(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                    "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 Edg/130.0":     "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/604.1": "Safari on iOS",
		"curl/8.5.0": "curl",
		"":           "Unknown browser",
	} {
		if got := DeviceName(ua); got != want {
			t.Errorf("DeviceName(%q) = %q, want %q", ua, got, want)
		}
	}
}

// Accounts from before the Deactivated flag get it when an administrator's hand shows: inactive
// after confirming their address, after signing in, or after an administrator activated them.
// A registration still waiting for its link keeps the power to activate itself by confirming.
func TestMigrateUsersMarksDeactivated(t *testing.T) {
	db := openTestDB(t)
	now := time.Now().UTC()
	legacy := func(name string, active, verified, signedIn bool) *User {
		t.Helper()
		u, err := CreateUser(db, NewUser{Username: name, Email: name + "@example.com", PasswordHash: "x"}, now)
		if err != nil {
			t.Fatal(err)
		}
		set := map[string]any{"is_active": active}
		if verified {
			set["email_verified_at"] = now
		}
		if signedIn {
			set["last_login"] = now
		}
		if err := db.Model(&User{}).Where("id = ?", u.ID).Updates(set).Error; err != nil {
			t.Fatal(err)
		}
		return u
	}
	event := func(u *User, detail string) {
		t.Helper()
		admin := uint(1)
		if err := RecordEvent(db, &SecurityEvent{UserID: u.ID, Kind: EventAdminChange, ActorID: &admin, Detail: detail, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	root := legacy("root", true, true, true)
	pending := legacy("pending", false, false, false)
	resent := legacy("resent", false, false, false) // an administrator only mailed a new link
	event(resent, "Activation link sent by root")
	verifiedOff := legacy("verifiedoff", false, true, true)
	signedInOff := legacy("signedinoff", false, false, true) // activated by hand, used, deactivated
	neverUsedOff := legacy("neveruseoff", false, false, false)
	event(neverUsedOff, "Account activated by root")
	event(neverUsedOff, "Account deactivated, sessions ended by root")
	approved := legacy("approved", true, false, true) // activated by hand and in use: stays so

	if _, err := MigrateUsers(db, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		u                          *User
		active, deactivated, waits bool
	}{
		{root, true, false, false}, {pending, false, false, true}, {resent, false, false, true},
		{verifiedOff, false, true, false}, {signedInOff, false, true, false}, {neverUsedOff, false, true, false},
		{approved, true, false, false},
	} {
		u, err := FindUser(db, tc.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.IsActive != tc.active || u.Deactivated != tc.deactivated || u.IsPending() != tc.waits {
			t.Errorf("%s: active %v deactivated %v pending %v, want %v %v %v", u.Username,
				u.IsActive, u.Deactivated, u.IsPending(), tc.active, tc.deactivated, tc.waits)
		}
	}
}

// Confirming an address activates a registration, never an account an administrator
// deactivated; a later sign-up's confirmation replaces the earlier sign-up's credentials.
func TestConfirmSignUp(t *testing.T) {
	db := openTestDB(t)
	now := time.Now().UTC()
	create := func(name string) *User {
		t.Helper()
		u, err := CreateUser(db, NewUser{Username: name, Email: name + "@example.com", PasswordHash: "hash-" + name}, now)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	t.Run("registration", func(t *testing.T) {
		u := create("ada")
		if err := ConfirmSignUp(db, u, nil, now); err != nil {
			t.Fatal(err)
		}
		if !u.IsActive || !u.IsVerified() || u.Deactivated {
			t.Errorf("after confirming: %+v", u)
		}
		if err := ConfirmSignUp(db, u, nil, now); err != ErrNotFound {
			t.Errorf("second confirmation: %v", err)
		}
	})
	t.Run("deactivated", func(t *testing.T) {
		u := create("bob")
		if err := db.Model(u).Updates(map[string]any{"deactivated": true}).Error; err != nil {
			t.Fatal(err)
		}
		if err := ConfirmSignUp(db, u, nil, now); err != nil {
			t.Fatal(err)
		}
		if u.IsActive || !u.IsVerified() || !u.Deactivated {
			t.Errorf("a deactivated account after confirming: active %v verified %v", u.IsActive, u.IsVerified())
		}
	})
	t.Run("later sign-up", func(t *testing.T) {
		u := create("mallory")
		r, err := AddRegistration(db, u, NewUser{Username: "carol", FirstName: "Carol", PasswordHash: "hash-carol"}, now, now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		other, _ := AddRegistration(db, u, NewUser{Username: "eve", PasswordHash: "hash-eve"}, now, now.Add(-time.Hour))
		stale := *u
		if err := ConfirmSignUp(db, u, r, now); err != nil {
			t.Fatal(err)
		}
		if u.Username != "carol" || u.UsernameKey != "carol" || u.FirstName != "Carol" || u.PasswordHash != "hash-carol" || !u.IsActive {
			t.Errorf("after the later sign-up's link: %+v", u)
		}
		if _, err := FindRegistration(db, u.ID, other.ID); err != ErrNotFound {
			t.Errorf("the other sign-up is still there: %v", err)
		}
		if err := ConfirmSignUp(db, &stale, nil, now); err != ErrNotFound {
			t.Errorf("a link read before the change: %v", err)
		}
	})
	t.Run("username taken since", func(t *testing.T) {
		u := create("dave")
		r, _ := AddRegistration(db, u, NewUser{Username: "ADA", PasswordHash: "hash-x"}, now, now.Add(-time.Hour))
		if err := ConfirmSignUp(db, u, r, now); err != ErrUsernameTaken {
			t.Errorf("err = %v, want ErrUsernameTaken", err)
		}
	})
}

// The anonymous user is a fresh value each time: what one request writes into its user cannot
// reach another's.
func TestAnonymousIsAFreshValue(t *testing.T) {
	a := Anonymous()
	a.Username, a.IsStaff = "mallory", true
	if b := Anonymous(); b.Username != "" || b.IsStaff || b.IsAuthenticated() {
		t.Errorf("a write to one anonymous user reached the next: %+v", b)
	}
}
