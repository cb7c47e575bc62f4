package handlers

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tally/testkit/testdb"
)

// With a database URL everything is in Postgres: a signed-in session is a row of
// tally_sessions, no database file appears in the data dir, and the scheduled backups, which
// copy SQLite files, are off with a line in the log that says what to use instead.
func TestPostgresKeepsNoDatabaseFile(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("Postgres only: the data dir holds the SQLite files")
	}
	ta := newTestApp(t, "TALLY_BACKUP_DIR", t.TempDir())
	if ta.cfg.DatabaseURL == "" {
		t.Fatal("the Postgres pass gave the app no database URL")
	}
	ta.signedInAda()
	if n := ta.sessionRows(); n == 0 {
		t.Error("no session row in tally_sessions after a sign-in")
	}
	for _, f := range []string{"tally.db", "sessions.db"} {
		if _, err := os.Stat(filepath.Join(ta.dir, f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s in the data dir: %v", f, err)
		}
	}
	if ta.srv.h.ops.backups != nil {
		t.Error("scheduled backups are on")
	}
	if logs := ta.logs.String(); !strings.Contains(logs, "pg_dump") {
		t.Errorf("the log does not say how to back up:\n%s", logs)
	}
}
