package models

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestDeleteAccountWithoutForeignKeys: on a database whose tables lack the cascade (made by an
// older version), DeleteAccount still leaves nothing of the user.
func TestDeleteAccountWithoutForeignKeys(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "tally.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	if err := Migrate(db); err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	sqlDB.SetMaxOpenConns(1) // the pragma below holds for one connection
	if err := db.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	u, err := CreateUser(db, NewUser{Username: "ada", Email: "ada@example.com", PasswordHash: "x", Active: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(UpdateProfile(db, u, ProfileChange{PhoneNumber: "+442079460958"}, now))
	_, err = SaveAvatar(db, u.ID, "image/png", []byte("png"), now)
	must(err)
	_, err = StartAuthSession(db, NewAuthSession{UserID: u.ID, IP: "127.0.0.1"}, now)
	must(err)
	must(QueueEmail(db, &Email{UserID: &u.ID, To: u.Email, Purpose: MailNotice}, now))
	must(RecordEvent(db, &SecurityEvent{UserID: u.ID, Kind: EventLoginSuccess, CreatedAt: now}))

	must(db.Transaction(func(tx *gorm.DB) error { return DeleteAccount(tx, u.ID) }))
	for _, m := range []any{&User{}, &Profile{}, &Avatar{}, &AuthSession{}, &Email{}, &SecurityEvent{}} {
		var n int64
		db.Model(m).Count(&n)
		if n != 0 {
			t.Errorf("%T: %d rows left", m, n)
		}
	}
	if err := db.Transaction(func(tx *gorm.DB) error { return DeleteAccount(tx, u.ID) }); err != ErrNotFound {
		t.Errorf("deleting again: %v, want ErrNotFound", err)
	}
}
