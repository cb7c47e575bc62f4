package schema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/backup"
	"tally/models"
	"tally/models/ledger"
	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

var quiet = slog.New(slog.DiscardHandler)

func open(t *testing.T, target string) *gorm.DB {
	t.Helper()
	db, err := models.Open(target, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(db) })
	return db
}

// current is the number of versions this binary knows.
var current = len(Migrations(quiet))

// newer is the schema history of a binary one version ahead: its last version adds a table.
func newer() []models.Migration {
	return append(Migrations(quiet), models.Migration{Version: current + 1, Name: "test: a newer table", Up: func(tx *gorm.DB) error {
		return tx.Exec("CREATE TABLE newer_things (id INTEGER PRIMARY KEY)").Error
	}})
}

func addUser(t *testing.T, db *gorm.DB, name string) {
	t.Helper()
	if _, err := models.CreateUser(db, models.NewUser{Username: name, Email: name + "@example.org", PasswordHash: "x", Active: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
}

func backups(t *testing.T, dataDir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dataDir, "backups", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestUpFreshDatabase(t *testing.T) {
	dir := t.TempDir()
	db := open(t, testdb.Target(t, dir))
	r, err := Up(context.Background(), db, dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if r.From != 0 || r.To != len(Migrations(quiet)) || r.Upgrade || r.Backup != "" {
		t.Errorf("%+v: want every version applied to a fresh database, no backup", r)
	}
	if got := backups(t, dir); len(got) != 0 {
		t.Errorf("backups %v on a fresh install", got)
	}
	addUser(t, db, "alice") // the tables are there
	r, err = Up(context.Background(), db, dir, quiet)
	if err != nil || len(r.Applied) != 0 {
		t.Errorf("again: %+v, %v; want nothing applied", r, err)
	}
}

// A data dir from before versions (its schema made by Migrate, ledger.Migrate and MigrateUsers
// at every start) is recorded at version 1 unchanged, after a backup.
func TestUpRecordsAnUnversionedDataDir(t *testing.T) {
	testdb.SkipOnPostgres(t, "a data dir's file is backed up")
	dir := t.TempDir()
	db := open(t, testdb.Target(t, dir))
	if err := errors.Join(models.Migrate(db), ledger.Migrate(db)); err != nil {
		t.Fatal(err)
	}
	if _, err := models.MigrateUsers(db, quiet); err != nil {
		t.Fatal(err)
	}
	addUser(t, db, "alice")
	before := schemaText(t, db)
	r, err := up(context.Background(), db, dir, quiet, Migrations(quiet)[:1])
	if err != nil {
		t.Fatal(err)
	}
	if r.From != 0 || r.To != 1 || !r.Upgrade || !strings.Contains(r.Backup, "pre-migrate-v0-to-v1-") {
		t.Errorf("%+v: want 0 to 1 after a backup", r)
	}
	if after := schemaText(t, db); after != before {
		t.Errorf("the baseline changed the schema:\nbefore %s\nafter %s", before, after)
	}
}

// schemaText lists the SQLite schema's objects with their SQL, schema_migrations aside.
func schemaText(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var rows []struct{ Name, SQL string }
	if err := db.Raw("SELECT name, coalesce(sql, '') AS sql FROM sqlite_schema ORDER BY name").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		if r.Name == "schema_migrations" {
			continue
		}
		b.WriteString(r.Name + ": " + r.SQL + "\n")
	}
	return b.String()
}

// A data dir at version 1 started by a binary that knows version 2 is backed up first, and the
// backup restores to the version-1 data.
func TestUpgradeBacksUpFirst(t *testing.T) {
	testdb.SkipOnPostgres(t, "a data dir's file is backed up; Postgres is pg_dump's")
	ctx := context.Background()
	dir := t.TempDir()
	db := open(t, testdb.Target(t, dir))
	if _, err := Up(ctx, db, dir, quiet); err != nil {
		t.Fatal(err)
	}
	addUser(t, db, "alice")

	var logs bytes.Buffer
	r, err := up(ctx, db, dir, slog.New(slog.NewTextHandler(&logs, nil)), newer())
	if err != nil {
		t.Fatal(err)
	}
	if r.From != current || r.To != current+1 || !r.Upgrade {
		t.Fatalf("%+v: want an upgrade from %d to %d", r, current, current+1)
	}
	prefix := fmt.Sprintf("pre-migrate-v%d-to-v%d-", current, current+1)
	if got := backups(t, dir); len(got) != 1 || got[0] != r.Backup || !strings.HasPrefix(filepath.Base(r.Backup), prefix) {
		t.Fatalf("backups %v, Backup %q: want one %s file", got, r.Backup, prefix)
	}
	if !strings.Contains(logs.String(), r.Backup) {
		t.Errorf("the log does not say where the backup is: %s", logs.String())
	}
	addUser(t, db, "bob") // after the backup

	restored := t.TempDir()
	if _, err := backup.Restore(ctx, r.Backup, restored, time.Now()); err != nil {
		t.Fatal(err)
	}
	old := open(t, filepath.Join(restored, backup.DatabaseFile))
	if v, err := models.SchemaVersion(old); err != nil || v != current {
		t.Errorf("restored version %d, %v; want %d", v, err, current)
	}
	if old.Migrator().HasTable("newer_things") {
		t.Error("the backup has version 2's table")
	}
	var names []string
	if err := old.Model(&models.User{}).Order("username").Pluck("username", &names).Error; err != nil || strings.Join(names, ",") != "alice" {
		t.Errorf("restored users %v, %v; want alice only", names, err)
	}
}

// On Postgres nothing is written to the data dir: the log says pg_dump is the operator's.
func TestUpgradeOnPostgresLeavesTheBackupToPgDump(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("Postgres only: SQLite data dirs are backed up (TestUpgradeBacksUpFirst)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	db := open(t, testdb.Target(t, dir))
	if _, err := Up(ctx, db, dir, quiet); err != nil {
		t.Fatal(err)
	}
	addUser(t, db, "alice")
	var logs bytes.Buffer
	r, err := up(ctx, db, dir, slog.New(slog.NewTextHandler(&logs, nil)), newer())
	if err != nil || r.To != current+1 || r.Backup != "" {
		t.Fatalf("%+v, %v: want %d without a backup", r, err, current+1)
	}
	if !strings.Contains(logs.String(), "pg_dump") {
		t.Errorf("the log does not name pg_dump: %s", logs.String())
	}
	if got := backups(t, dir); len(got) != 0 {
		t.Errorf("backups %v written for Postgres", got)
	}
}

func TestUpRefusesANewerDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := open(t, testdb.Target(t, dir))
	if _, err := up(ctx, db, dir, quiet, newer()); err != nil {
		t.Fatal(err)
	}
	_, err := Up(ctx, db, dir, quiet)
	var e *models.NewerSchemaError
	if !errors.As(err, &e) || e.Database != current+1 || e.Binary != current {
		t.Fatalf("err = %v, want a NewerSchemaError from %d to %d", err, current+1, current)
	}
	if got := backups(t, dir); len(got) != 0 {
		t.Errorf("backups %v made of a database that is not migrated", got)
	}
}

// Instances starting together on one empty database, with Tally's real schema: all end at
// the last version, each version applied once.
func TestUpConcurrentStarts(t *testing.T) {
	dir := t.TempDir()
	target := testdb.Target(t, dir)
	const instances = 3
	var wg sync.WaitGroup
	results := make([]Result, instances)
	errs := make([]error, instances)
	dbs := make([]*gorm.DB, instances)
	for i := range dbs {
		dbs[i] = open(t, target)
	}
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Up(context.Background(), dbs[i], dir, quiet)
		}()
	}
	wg.Wait()
	applied := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if results[i].To != len(Migrations(quiet)) {
			t.Errorf("instance %d at %d", i, results[i].To)
		}
		applied += len(results[i].Applied)
	}
	if applied != len(Migrations(quiet)) {
		t.Errorf("%d versions applied in all, want %d", applied, len(Migrations(quiet)))
	}
	addUser(t, dbs[1], "alice")
}

// Two processes upgrading one SQLite data dir at once: the new version runs once, and every
// backup left restores to the data before the upgrade.
func TestConcurrentUpgradesOfADataDir(t *testing.T) {
	testdb.SkipOnPostgres(t, "a data dir's file is backed up")
	ctx := context.Background()
	dir := t.TempDir()
	target := testdb.Target(t, dir)
	if _, err := Up(ctx, open(t, target), dir, quiet); err != nil {
		t.Fatal(err)
	}
	dbs := []*gorm.DB{open(t, target), open(t, target)}
	addUser(t, dbs[0], "alice")
	results := make([]Result, len(dbs))
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = up(ctx, dbs[i], dir, quiet, newer())
		}()
	}
	close(start)
	wg.Wait()
	applied := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		applied += len(results[i].Applied)
	}
	if applied != 1 {
		t.Errorf("the new version was applied %d times", applied)
	}
	files := backups(t, dir)
	if len(files) == 0 {
		t.Fatal("no backup")
	}
	for _, f := range files {
		restored := t.TempDir()
		if _, err := backup.Restore(ctx, f, restored, time.Now()); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if v, err := models.SchemaVersion(open(t, filepath.Join(restored, backup.DatabaseFile))); err != nil || v != current {
			t.Errorf("%s holds version %d, %v; want %d", filepath.Base(f), v, err, current)
		}
	}
}
