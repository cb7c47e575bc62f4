package backup

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"tally/models"
)

// While the copy is made no other writer gets in, so the counts taken beside it are the
// copy's: a write from another connection (another process) between the counts and the copy
// finds the database locked.
func TestCopyHoldsTheWriters(t *testing.T) {
	dir := t.TempDir()
	db, err := models.Open(filepath.Join(dir, DatabaseFile), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	if err := db.Exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)").Error; err != nil {
		t.Fatal(err)
	}
	other, err := openSQLite(filepath.Join(dir, DatabaseFile), "_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var otherErr error
	testHookCopying = func() { _, otherErr = other.Exec("INSERT INTO notes (body) VALUES ('sneaked in')") }
	defer func() { testHookCopying = nil }()

	m, err := Create(context.Background(), Source{DataDir: dir, DB: db}, filepath.Join(t.TempDir(), "b.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if otherErr == nil || !strings.Contains(otherErr.Error(), "locked") {
		t.Errorf("a write during the copy: %v, want database is locked", otherErr)
	}
	if m.Tables["notes"] != 0 {
		t.Errorf("notes = %d", m.Tables["notes"])
	}
}
