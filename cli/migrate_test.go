package cli_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tally/config"
	"tally/handlers"
	"tally/models"
	"tally/models/schema"
	"tally/testkit/testdb"
)

// migrateConfig is a data dir's configuration, on the pass's database.
func migrateConfig(t *testing.T) (config.Config, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	target := testdb.Target(t, dir)
	env := map[string]string{"TALLY_DATA_DIR": dir}
	if testdb.Postgres() {
		env["TALLY_DATABASE_URL"] = target
		env["TALLY_SECRET"] = strings.Repeat("s", 32)
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg, target
}

func TestMigrateCommand(t *testing.T) {
	cfg, target := migrateConfig(t)
	out, err := command(t, cfg, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if want := appliedLines() + fmt.Sprintf("The database is at schema version %d.\n", latestVersion()); out != want {
		t.Errorf("fresh: %q, want %q", out, want)
	}
	out, err = command(t, cfg, "migrate")
	if err != nil || out != fmt.Sprintf("The database is up to date (schema version %d).\n", latestVersion()) {
		t.Errorf("again: %q, %v", out, err)
	}
	if _, err := command(t, cfg, "migrate", "now"); err == nil {
		t.Error("migrate took an argument")
	}

	// A database a newer Tally migrated: migrate, the server and the other commands refuse it.
	db, err := models.Open(target, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Create(&models.SchemaMigration{Version: 999, Name: "from a newer Tally", AppliedAt: db.NowFunc()}).Error
	models.Close(db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = command(t, cfg, "migrate")
	wantNewer(t, "migrate", err)
	if err := cfg.LoadSecret(); err != nil {
		t.Fatal(err)
	}
	_, err = handlers.OpenDatabase(cfg, slog.New(slog.DiscardHandler))
	wantNewer(t, "the commands' database", err)
	_, err = handlers.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), handlers.Options{})
	wantNewer(t, "the server", err)
}

func wantNewer(t *testing.T, who string, err error) {
	t.Helper()
	var newer *models.NewerSchemaError
	if !errors.As(err, &newer) || newer.Database != 999 || newer.Binary != latestVersion() {
		t.Errorf("%s: %v, want the database's version 999 refused by a binary at %d", who, err, latestVersion())
		return
	}
	if msg := err.Error(); !strings.Contains(msg, "999") || !strings.Contains(msg, fmt.Sprintf("up to %d", latestVersion())) || !strings.Contains(msg, "restore a backup") {
		t.Errorf("%s: %q does not name both versions and what to do", who, msg)
	}
}

// A data dir from before versions is backed up, then recorded at version 1 and upgraded.
func TestMigrateCommandBacksUpAnExistingDataDir(t *testing.T) {
	testdb.SkipOnPostgres(t, "a data dir's file is backed up")
	cfg, target := migrateConfig(t)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(target, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = models.Migrate(db) // the users' tables as a release before versions left them
	models.Close(db)
	if err != nil {
		t.Fatal(err)
	}
	out, err := command(t, cfg, "migrate")
	if err != nil {
		t.Fatal(err)
	}
	backups, _ := filepath.Glob(filepath.Join(cfg.DataDir, "backups", fmt.Sprintf("pre-migrate-v0-to-v%d-*.tar.gz", latestVersion())))
	if len(backups) != 1 || !strings.HasPrefix(out, "Backed up the data into "+backups[0]+" before upgrading.\n"+appliedLines()) {
		t.Errorf("out %q, backups %v: want one backup named first", out, backups)
	}
}

// On Postgres, backup prints the pg_dump command, without the password, and writes nothing.
func TestBackupCommandOnPostgres(t *testing.T) {
	for _, tc := range []struct {
		name, url, want string
		password        bool
	}{
		{name: "password in the URL",
			url:      "postgres://tally:s3cret@db.example:5432/tally?sslmode=require&pool_max_conns=10",
			want:     "PGPASSWORD=… pg_dump --format=custom --file='BACKUPS/tally-20261123T033000Z.dump' --dbname='postgres://tally@db.example:5432/tally?sslmode=require'",
			password: true},
		{name: "password as a parameter",
			url:      "postgresql://db.example/tally?user=tally&password=s3cret",
			want:     "PGPASSWORD=… pg_dump --format=custom --file='BACKUPS/tally-20261123T033000Z.dump' --dbname='postgresql://db.example/tally?user=tally'",
			password: true},
		{name: "no password",
			url:  "postgres://tally@127.0.0.1:5432/it's?sslmode=disable",
			want: `pg_dump --format=custom --file='BACKUPS/tally-20261123T033000Z.dump' --dbname='postgres://tally@127.0.0.1:5432/it'\''s?sslmode=disable'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, backups := t.TempDir(), t.TempDir()
			env := map[string]string{"TALLY_DATA_DIR": dir, "TALLY_BACKUP_DIR": backups, "TALLY_DATABASE_URL": tc.url,
				"TALLY_SECRET": strings.Repeat("s", 32)}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			out, err := command(t, cfg, "backup")
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "BACKUPS", backups)
			if !strings.Contains(out, "\n    "+want+"\n") {
				t.Errorf("output:\n%s\nwant the line\n%s", out, want)
			}
			if strings.Contains(out, "s3cret") || strings.Contains(out, "pool_max_conns") {
				t.Errorf("output shows the password or pgx's settings:\n%s", out)
			}
			if got := strings.Contains(out, "in place of …"); got != tc.password {
				t.Errorf("password note %v, want %v:\n%s", got, tc.password, out)
			}
			for _, d := range []string{dir, backups} {
				if entries, _ := os.ReadDir(d); len(entries) != 0 {
					t.Errorf("%s holds %v: backup wrote something", d, entries)
				}
			}
		})
	}
}

// appliedLines is what migrate prints for each version of a fresh database.
func appliedLines() string {
	var b strings.Builder
	for _, m := range schema.Migrations(slog.New(slog.DiscardHandler)) {
		fmt.Fprintf(&b, "Applied version %d: %s.\n", m.Version, m.Name)
	}
	return b.String()
}

func latestVersion() int {
	list := schema.Migrations(slog.New(slog.DiscardHandler))
	return list[len(list)-1].Version
}
