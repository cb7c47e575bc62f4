package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tally/backup"
	"tally/cli"
	"tally/config"
	"tally/handlers"
	"tally/models"
	"tally/models/ledger"
	"tally/testkit"
)

var now = time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC)

// command runs a command as main does for backup, restore and version: on the configuration
// alone, without a database handle or a loaded secret.
func command(t *testing.T, cfg config.Config, args ...string) (stdout string, err error) {
	t.Helper()
	cfg.Secret = nil
	if !cli.Standalone(args[0]) {
		t.Fatalf("%s is not standalone", args[0])
	}
	var out, errOut bytes.Buffer
	cmd := &cli.CLI{Config: cfg, In: strings.NewReader(""), Out: &out, Err: &errOut, Now: func() time.Time { return now }}
	err = cmd.Run(context.Background(), args)
	return out.String(), err
}

func TestBackupAndRestoreCommandsBesideAServer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	backups := t.TempDir()
	env := map[string]string{"TALLY_DATA_DIR": dir, "TALLY_BACKUP_DIR": backups}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := command(t, cfg, "backup"); err == nil || !strings.Contains(err.Error(), "nothing to back up") {
		t.Errorf("backup of an empty data dir: %v", err)
	}
	if err := cfg.LoadSecret(); err != nil {
		t.Fatal(err)
	}
	srv, err := handlers.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), handlers.Options{Hash: testkit.Hash})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			srv.Close()
		}
	}()
	u := testkit.CreateUser(t, srv.DB, models.NewUser{Username: "ada", Email: "ada@example.com"}, testkit.Password, now)
	book, _ := ledger.For(srv.DB, u.ID)
	acct, err := book.CreateAccount(ledger.AccountInput{Name: "Checking", Kind: "checking", Currency: "EUR", OpeningDate: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}

	// While the server runs: a backup into TALLY_BACKUP_DIR, and one to a named file.
	out, err := command(t, cfg, "backup", "--sessions")
	if err != nil {
		t.Fatal(err)
	}
	scheduled := filepath.Join(backups, backup.FileName(now))
	if !strings.Contains(out, "Backup written to "+scheduled) || !strings.Contains(out, "the secret and the sessions") {
		t.Errorf("backup said:\n%s", out)
	}
	named := filepath.Join(t.TempDir(), "before-upgrade.tar.gz")
	if out, err = command(t, cfg, "backup", named); err != nil || !strings.Contains(out, named) || strings.Contains(out, "sessions") {
		t.Fatalf("backup FILE: %v\n%s", err, out)
	}
	if _, err := command(t, cfg, "backup", named); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v", err)
	}

	// The restore refuses while the server holds the data dir, and changes nothing.
	_, err = command(t, cfg, "restore", named)
	if !errors.Is(err, backup.ErrInUse) || !strings.Contains(err.Error(), "server is running") {
		t.Fatalf("restore beside the server: %v", err)
	}
	later, err := book.AddTransaction(ledger.TxInput{AccountID: acct.ID, Date: "2026-11-22", Payee: "after the backup", Amount: -500})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	closed = true

	out, err = command(t, cfg, "restore", named)
	if err != nil {
		t.Fatal(err)
	}
	aside := filepath.Join(dir, "before-restore-"+now.Format("20060102T150405Z"))
	for _, want := range []string{
		"Checked " + named + ": made 2026-11-23 03:30:00 UTC",
		"passed its integrity check",
		"Moved the current files aside into " + aside + ": tally.db",
		"Restored into " + dir + ": tally.db, secret.key.",
		"The backup has no sessions: everyone signs in again.",
		"you may delete " + aside,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("restore did not say %q:\n%s", want, out)
		}
	}

	// A server starts on the restored data: the account is there, the later row is not.
	srv, err = handlers.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), handlers.Options{Hash: testkit.Hash})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	book, _ = ledger.For(srv.DB, u.ID)
	if _, err := book.Account(acct.ID); err != nil {
		t.Errorf("the account is gone: %v", err)
	}
	if _, err := book.Transaction(later.ID); err == nil {
		t.Error("a row made after the backup survived the restore")
	}
}

func TestVersionCommand(t *testing.T) {
	out, err := command(t, config.Config{}, "version")
	if err != nil || !strings.HasPrefix(out, "tally ") || !strings.Contains(out, "built with go1.") {
		t.Errorf("version: %q, %v", out, err)
	}
	if _, err := command(t, config.Config{}, "version", "extra"); err == nil {
		t.Error("version took an argument")
	}
}

func TestBackupMakesTheDirItWritesInto(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	root := t.TempDir()
	newBackupDir := filepath.Join(root, "backups-not-yet")
	env := map[string]string{"TALLY_DATA_DIR": dir, "TALLY_BACKUP_DIR": newBackupDir}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := cfg.LoadSecret(); err != nil {
		t.Fatal(err)
	}
	srv, err := handlers.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), handlers.Options{Hash: testkit.Hash})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"TALLY_BACKUP_DIR that does not exist", []string{"backup"}, filepath.Join(newBackupDir, backup.FileName(now))},
		{"an argument ending in a separator", []string{"backup", filepath.Join(root, "named-dir") + string(filepath.Separator)},
			filepath.Join(root, "named-dir", backup.FileName(now))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := command(t, cfg, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "Backup written to "+tc.want+" ") {
				t.Errorf("backup said:\n%s", out)
			}
			if fi, err := os.Stat(tc.want); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("no archive at %s: %v", tc.want, err)
			}
		})
	}
}
