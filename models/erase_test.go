package models

import (
	"os"
	"sort"
	"testing"
	"time"

	"tally/testkit/testdb"

	"gorm.io/gorm"
)

// TestDeleteAccountForgetsNames: deleting an account removes its username and addresses from
// rows that are not its own (failures under typed names, mail, other accounts' event details)
// and leaves what belongs to others alone.
func TestDeleteAccountForgetsNames(t *testing.T) {
	db := openTestDB(t)
	now := time.Now().UTC()
	zed := mustCreate(t, db, "Zed", "zed@example.org", "pw-123456789", cheap)
	zedd := mustCreate(t, db, "Zedd", "zedd@example.org", "pw-123456789", cheap)
	// Zed moved from old@example.org; a new account took that address since.
	heir := mustCreate(t, db, "heir", "old@example.org", "pw-123456789", cheap)

	event := func(userID uint, actor *uint, kind, detail string) uint {
		e := SecurityEvent{UserID: userID, ActorID: actor, Kind: kind, Detail: detail, CreatedAt: now}
		if err := RecordEvent(db, &e); err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	event(zed.ID, nil, EventEmailChanged, "From old@example.org to zed@example.org")
	event(zed.ID, nil, EventEmailChangeRequested, "To next@example.org")
	details := map[uint]string{ // event id: its detail after the deletion
		event(zedd.ID, &zed.ID, EventAdminChange, "Account activated by Zed"):           "Account activated",
		event(zedd.ID, &zed.ID, EventImpersonation, "Support access started by zed"):    "Support access started",
		event(zedd.ID, &zed.ID, EventAdminChange, "Password reset link sent"):           "Password reset link sent",
		event(heir.ID, nil, EventImpersonation, "Viewing as Zed ended by logout"):       "Viewing as " + UserRef(zed.ID) + " ended by logout",
		event(heir.ID, nil, EventImpersonation, "Viewing as Zedd started"):              "Viewing as Zedd started",
		event(heir.ID, &zedd.ID, EventAdminChange, "Account activated by Zedd"):         "Account activated by Zedd",
		event(heir.ID, nil, EventImpersonation, "Viewing as "+UserRef(zed.ID)+" ended"): "Viewing as " + UserRef(zed.ID) + " ended",
	}
	if err := RecordLoginFailure(db, now, UserKey(zed), "login:zed", "login:zed@example.org", "login:old@example.org",
		"login:next@example.org", "login:zedd", UserKey(zedd), "ip:192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"login:zed", UserKey(zed), "login:zedd"} {
		if _, err := Lock(db, k, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	mail := func(to string, userID *uint) {
		if err := QueueEmail(db, &Email{To: to, UserID: userID, Purpose: MailNotice, Subject: "s"}, now); err != nil {
			t.Fatal(err)
		}
	}
	mail("zed@example.org", nil)
	mail("old@example.org", nil)
	mail("next@example.org", &zed.ID)
	mail("old@example.org", &heir.ID)
	mail("zedd@example.org", nil)

	if err := Transaction(db, func(tx *gorm.DB) error { return DeleteAccount(tx, zed.ID) }); err != nil {
		t.Fatal(err)
	}

	for id, want := range details {
		var e SecurityEvent
		if err := db.First(&e, id).Error; err != nil {
			t.Errorf("event %d of another account deleted: %v", id, err)
		} else if e.Detail != want {
			t.Errorf("detail %q, want %q", e.Detail, want)
		}
	}
	var actorRows int64
	db.Model(&SecurityEvent{}).Where("actor_id = ?", zed.ID).Count(&actorRows)
	if actorRows != 3 {
		t.Errorf("%d events keep the deleted account as actor, want 3", actorRows)
	}
	keys := func(m any) (ks []string) {
		db.Model(m).Order("key").Pluck("key", &ks)
		return ks
	}
	if got := keys(&LoginFailure{}); !equal(got, []string{"ip:192.0.2.1", "login:zedd", UserKey(zedd)}) {
		t.Errorf("failures left: %v", got)
	}
	if got := keys(&LoginLock{}); !equal(got, []string{"login:zedd"}) {
		t.Errorf("locks left: %v", got)
	}
	var tos []string
	db.Model(&Email{}).Order(`"to"`).Pluck("to", &tos)
	if !equal(tos, []string{"old@example.org", "zedd@example.org"}) {
		t.Errorf("mail left: %v", tos)
	}
	var heirs int64
	db.Model(&Email{}).Where("user_id = ?", heir.ID).Count(&heirs)
	if heirs != 1 {
		t.Error("the mail of the address's new owner was deleted")
	}
}

func equal(a, b []string) bool {
	sort.Strings(a)
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestForgetDeletedPages: every connection that writes zeroes what it deletes, and the
// checkpoint leaves the WAL empty.
func TestForgetDeletedPages(t *testing.T) {
	testdb.SkipOnPostgres(t, "secure_delete and the WAL file are SQLite's")
	db := openTestDB(t)
	var secureDelete int
	if err := db.Raw("PRAGMA secure_delete").Row().Scan(&secureDelete); err != nil || secureDelete != 1 {
		t.Errorf("secure_delete = %d (%v), want 1 on the writer's connection", secureDelete, err)
	}
	u := mustCreate(t, db, "Zed", "zed@example.org", "pw-123456789", cheap)
	if err := Transaction(db, func(tx *gorm.DB) error { return DeleteAccount(tx, u.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := ForgetDeletedPages(db); err != nil {
		t.Fatal(err)
	}
	var path string
	if err := db.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Row().Scan(&path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Errorf("WAL after the checkpoint: %v, %v", fi, err)
	}
}
