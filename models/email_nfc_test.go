package models

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// "é" written two ways: e followed by U+0301 COMBINING ACUTE ACCENT (NFD), and U+00E9 (NFC).
const (
	decomposed = "jose\u0301@example.com"
	composed   = "jos\u00e9@example.com"
)

func TestNormalizeEmailNFC(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{decomposed, composed},
		{composed, composed},
		{" JOSE\u0301@Example.COM ", composed},
		{"JOS\u00c9@example.com", composed},
		{"ada@example.com", "ada@example.com"},
		{"Ad\xffa@example.com", "Ad\xffa@example.com"}, // invalid UTF-8: left for ValidateEmail to refuse
	} {
		if got := NormalizeEmail(tc.in); got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// The decomposed and the composed spelling are one account: stored, found and refused as a
// duplicate as one address.
func TestEmailFormsAreOneAccount(t *testing.T) {
	db := openTestDB(t)
	u := mustCreate(t, db, "jose", decomposed, "pw-123456789", cheap)
	if u.Email != composed {
		t.Errorf("stored %q, want %q", u.Email, composed)
	}
	for _, login := range []string{decomposed, composed, strings.ToUpper(decomposed)} {
		if found, err := FindUserByLogin(db, login); err != nil || found.ID != u.ID {
			t.Errorf("FindUserByLogin(%q) = %v, %v", login, found, err)
		}
	}
	if _, err := CreateUser(db, NewUser{Username: "other", Email: composed, PasswordHash: "x"}, time.Now()); err != ErrEmailTaken {
		t.Errorf("second account for the other spelling: %v", err)
	}
}

func TestNormalizeStoredEmails(t *testing.T) {
	db := openTestDB(t)
	raw := func(username, email string) uint {
		t.Helper()
		u := mustCreate(t, db, username, username+"@example.com", "pw-123456789", cheap)
		// As stored before normalization: lower-cased only.
		if err := db.Exec("UPDATE users SET email = ? WHERE id = ?", email, u.ID).Error; err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	alone := raw("alone", "zoe\u0308@example.com")        // the only spelling of zoë: normalized
	twin1 := raw("twin1", decomposed)                     // josé decomposed ...
	twin2 := raw("twin2", composed)                       // ... and composed: both stay
	pairA := raw("paira", "tra\u0323\u0302n@example.org") // ậ with its two marks in either order:
	pairB := raw("pairb", "tra\u0302\u0323n@example.org") // neither spelling is NFC, both stay
	plain := raw("plain", "ada@example.com")
	nfcAlready := raw("nfc", "\u00e5sa@example.com")

	var logs bytes.Buffer
	collisions, err := MigrateUsers(db, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint]string{
		alone: "zo\u00eb@example.com", twin1: decomposed, twin2: composed, pairA: "tra\u0323\u0302n@example.org",
		pairB: "tra\u0302\u0323n@example.org", plain: "ada@example.com", nfcAlready: "\u00e5sa@example.com",
	}
	for id, email := range want {
		u, err := FindUser(db, id)
		if err != nil || u.Email != email {
			t.Errorf("user %d: email %q, want %q (%v)", id, u.Email, email, err)
		}
	}
	var reported [][]uint
	for _, c := range collisions {
		reported = append(reported, c.UserIDs)
	}
	if len(reported) != 2 || !slices.Equal(reported[0], []uint{twin1, twin2}) || !slices.Equal(reported[1], []uint{pairA, pairB}) {
		t.Errorf("collisions = %v, want [[%d %d] [%d %d]]", reported, twin1, twin2, pairA, pairB)
	}
	for _, ids := range []string{fmt.Sprintf(`user_ids="[%d %d]"`, twin1, twin2), fmt.Sprintf(`user_ids="[%d %d]"`, pairA, pairB)} {
		if !strings.Contains(logs.String(), ids) {
			t.Errorf("the log does not name %s:\n%s", ids, logs.String())
		}
	}
	if strings.Contains(logs.String(), "example") {
		t.Errorf("the log names an address:\n%s", logs.String())
	}

	// A start after the operator has changed one of each pair normalizes the others.
	db.Exec("UPDATE users SET email = 'twin1@example.net' WHERE id = ?", twin1)
	db.Exec("UPDATE users SET email = 'paira@example.net' WHERE id = ?", pairA)
	if collisions, err := MigrateUsers(db, slog.New(slog.DiscardHandler)); err != nil || len(collisions) != 0 {
		t.Fatalf("second start: %v, %v", collisions, err)
	}
	if u, _ := FindUser(db, pairB); u.Email != "tr\u1eadn@example.org" {
		t.Errorf("pairB = %q", u.Email)
	}
}
