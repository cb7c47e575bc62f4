package models

import (
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/testkit/testdb"
)

// Two instances on one Postgres database: a session ended, or a user deactivated, through one is
// seen by the other's session cache within a second; a listener that loses its connection stops
// the cache's trust until it is back.
func TestPeersEndSessionsOnOtherInstances(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("instances share a database only on Postgres (this runs on the Postgres pass)")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	target := testdb.Target(t, t.TempDir())
	var dbs [2]*gorm.DB
	for i := range dbs {
		db, err := Open(target, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Close(db) })
		dbs[i] = db
	}
	db1, db2 := dbs[0], dbs[1]
	if err := Migrate(db1); err != nil {
		t.Fatal(err)
	}
	if err := MigrateStores(db1); err != nil {
		t.Fatal(err)
	}
	peers, err := ListenPeers(db1, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peers.Close() })
	cache := NewSessionCache(db1, 100)
	cache.Follow(peers)

	u := mustCreate(t, db1, "ada", "ada@example.com", "correct horse battery", cheap)
	var id string
	start := func() {
		s, err := StartAuthSession(db1, NewAuthSession{UserID: u.ID}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Find(db1, s.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		id = s.ID
	}
	// until polls the cache, as each request on the first instance would, until ok says the
	// change is seen; it returns how long that took.
	until := func(what string, ok func(*AuthSession, error) bool) time.Duration {
		t.Helper()
		from := time.Now()
		for time.Since(from) < 2*time.Second {
			if ok(cache.Find(db1, id, time.Now())) {
				return time.Since(from)
			}
			time.Sleep(time.Millisecond) // a request's pace, not synchronisation: the deadline decides
		}
		t.Fatalf("%s not seen through the other instance's cache within 2 s", what)
		return 0
	}

	start()
	if err := EndAuthSession(db2, id); err != nil {
		t.Fatal(err)
	}
	d := until("the ended session", func(_ *AuthSession, err error) bool { return errors.Is(err, ErrNotFound) })
	t.Logf("ended session seen after %v", d)
	if d >= time.Second {
		t.Errorf("ended session seen after %v, want < 1 s", d)
	}

	start()
	if err := db2.Model(&User{}).Where("id = ?", u.ID).Update("is_active", false).Error; err != nil {
		t.Fatal(err)
	}
	d = until("the deactivation", func(s *AuthSession, err error) bool { return err == nil && !s.User.IsActive })
	t.Logf("deactivation seen after %v", d)
	if d >= time.Second {
		t.Errorf("deactivation seen after %v, want < 1 s", d)
	}

	// A sign-in elsewhere stamps last_login: that ends no session, so it must not empty the
	// cache. Notifications arrive in the order their transactions committed, so once a marker
	// sent after the stamp has been heard, a notification of the stamp would have been too.
	if err := db2.Model(&User{}).Where("id = ?", u.ID).Update("is_active", true).Error; err != nil {
		t.Fatal(err)
	}
	until("the reactivation", func(s *AuthSession, err error) bool { return err == nil && s.User.IsActive })
	marker := make(chan struct{}, 1)
	peers.Follow("marker", func(string) { marker <- struct{}{} })
	gen := cache.Generation()
	if err := RecordLogin(db2, u, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := db2.Exec("SELECT pg_notify(?, ?)", peersChannel, "marker:test:").Error; err != nil {
		t.Fatal(err)
	}
	select {
	case <-marker:
	case <-time.After(2 * time.Second):
		t.Fatal("the marker was not heard within 2 s")
	}
	if cache.Generation() != gen {
		t.Error("a sign-in's last_login update elsewhere emptied the session cache")
	}

	// A password change on its own (a new hash) reaches the cached user; the change as the
	// account page makes it (new hash, the other sessions ended) ends the session.
	if err := SetPassword(db2, u, "new-hash"); err != nil {
		t.Fatal(err)
	}
	d = until("the new password hash", func(s *AuthSession, err error) bool { return err == nil && s.User.PasswordHash == "new-hash" })
	if d >= time.Second {
		t.Errorf("new password hash seen after %v, want < 1 s", d)
	}
	err = Transaction(db2, func(tx *gorm.DB) error {
		if err := SetPassword(tx, u, "newer-hash"); err != nil {
			return err
		}
		_, err := EndUserSessions(tx, u.ID, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	d = until("the session ended by a password change", func(_ *AuthSession, err error) bool { return errors.Is(err, ErrNotFound) })
	t.Logf("password change seen after %v", d)
	if d >= time.Second {
		t.Errorf("password change seen after %v, want < 1 s", d)
	}

	// The listener's connection ends: the cache stops trusting itself until it is back, and
	// then forgets what it held (notifications sent meanwhile were missed).
	gen = cache.Generation()
	if err := db2.Exec("SELECT pg_terminate_backend(?)", peers.pid.Load()).Error; err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for peers.Trusted() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if peers.Trusted() {
		t.Fatal("still trusted after the listener's connection ended")
	}
	for !peers.Trusted() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !peers.Trusted() || cache.Generation() == gen {
		t.Fatalf("after reconnecting: trusted %v, generation moved %v", peers.Trusted(), cache.Generation() != gen)
	}
}
