package handlers

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tally/models"
	"tally/testkit/testdb"
)

// signedInSuperuser creates the superuser root and signs a client in as them.
func (ta *testApp) signedInSuperuser() *client {
	ta.t.Helper()
	hash, err := models.HashPassword(goodPassword, ta.hash)
	if err != nil {
		ta.t.Fatal(err)
	}
	if _, err := models.CreateSuperuser(ta.db, models.NewUser{Username: "root", Email: "root@example.com", PasswordHash: hash}, ta.clock.Now()); err != nil {
		ta.t.Fatal(err)
	}
	c := ta.client()
	c.login("root", goodPassword)
	return c
}

func TestAdminBackupsPageListsAndMakesBackups(t *testing.T) {
	testdb.SkipOnPostgres(t, "scheduled backups copy SQLite files; on Postgres they are off")
	dir := filepath.Join(t.TempDir(), "backups")
	ta := newTestApp(t, "TALLY_BACKUP_DIR", dir, "TALLY_BACKUP_AT", "04:15", "TALLY_BACKUP_KEEP", "7")
	root := ta.signedInSuperuser()

	res := root.get("/admin/backups")
	wantStatus(t, res, http.StatusOK)
	if s := res.doc.Find("#backup-schedule").Text(); !strings.Contains(s, "04:15 UTC") || !strings.Contains(s, "7 days") || !strings.Contains(s, dir) {
		t.Errorf("schedule = %q", s)
	}
	if res.doc.Find("#no-backups").Length() != 1 {
		t.Error("no 'No backups yet'")
	}

	res = root.post("/admin/backups", nil)
	wantStatus(t, res, http.StatusSeeOther)
	res = root.get("/admin/backups")
	if flash := res.doc.Find("#alerts .alert-ok").Text(); !strings.Contains(flash, "made and verified") {
		t.Errorf("flash = %q", flash)
	}
	rows := res.doc.Find("#backups-table tbody tr")
	if rows.Length() != 1 {
		t.Fatalf("%d rows", rows.Length())
	}
	cells := rows.First().Find("td")
	if made, verified := cells.Eq(0).Text(), cells.Eq(2).Text(); made != "2026-11-23 12:00:00" || strings.TrimSpace(verified) != "Yes" {
		t.Errorf("row: made %q, verified %q", made, verified)
	}
	if !strings.HasSuffix(cells.Eq(1).Text(), "B") || cells.Eq(3).Text() == "0" {
		t.Errorf("size %q, rows %q", cells.Eq(1).Text(), cells.Eq(3).Text())
	}
	if res.doc.Find("#backup-failed").Length() != 0 {
		t.Error("a failure is shown")
	}
}

func TestAdminBackupsPageShowsAFailedScheduledBackup(t *testing.T) {
	testdb.SkipOnPostgres(t, "scheduled backups copy SQLite files; on Postgres they are off")
	// The backup dir is a file: every backup fails.
	notADir := filepath.Join(t.TempDir(), "backups")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ta := newTestApp(t, "TALLY_BACKUP_DIR", notADir)
	root := ta.signedInSuperuser()
	if _, err := ta.srv.h.ops.backups.BackUp(context.Background(), "scheduled"); err == nil {
		t.Fatal("the backup worked")
	}
	res := root.get("/admin/backups")
	wantStatus(t, res, http.StatusOK)
	failed := res.doc.Find("#backup-failed")
	if failed.Length() != 1 || !strings.Contains(failed.Text(), "2026-11-23 12:00 UTC failed") || !strings.Contains(failed.Text(), "not a directory") {
		t.Errorf("failure shown: %q", failed.Text())
	}
	if !strings.Contains(ta.logs.String(), `level=ERROR msg="BACKUP FAILED" reason=scheduled`) {
		t.Errorf("no ERROR line in the log:\n%s", ta.logs.String())
	}
}

func TestAdminBackupsPageForSuperusersOnly(t *testing.T) {
	testdb.SkipOnPostgres(t, "scheduled backups copy SQLite files; on Postgres they are off")
	ta := newTestApp(t, "TALLY_BACKUP_DIR", t.TempDir())
	_, user := ta.signedInAda()
	staff := ta.createUser("grace", "grace@example.com", goodPassword)
	if err := ta.db.Model(staff).Update("is_staff", true).Error; err != nil {
		t.Fatal(err)
	}
	sc := ta.client()
	sc.login("grace", goodPassword)
	for _, tc := range []struct {
		name string
		c    *client
		want int
	}{
		{"a visitor", ta.client(), http.StatusNotFound},
		{"a user", user, http.StatusNotFound},
		{"staff", sc, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, tc.c.get("/admin/backups"), tc.want)
			tc.c.get("/login")
			wantStatus(t, tc.c.post("/admin/backups", nil), tc.want)
		})
	}
	if list, _ := ta.srv.h.ops.backups.Backups(); len(list) != 0 {
		t.Errorf("a backup was made: %+v", list)
	}
}

func TestAdminBackupsPageWithoutABackupDir(t *testing.T) {
	ta := newTestApp(t)
	root := ta.signedInSuperuser()
	res := root.get("/admin/backups")
	wantStatus(t, res, http.StatusOK)
	if res.doc.Find("#backups-off").Length() != 1 || res.doc.Find(`form[action="/admin/backups"]`).Length() != 0 {
		t.Error("the page offers backups without a backup dir")
	}
	wantStatus(t, root.post("/admin/backups", nil), http.StatusConflict)
}
