package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"tally/testkit/testdb"
)

// openEmpty opens target without migrating it.
func openEmpty(t *testing.T, target string) *gorm.DB {
	t.Helper()
	db, err := Open(target, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(db) })
	return db
}

// testMigrations is a schema history of n versions: version v creates table mig_v and
// counts its runs in mig_runs, so a version run twice shows.
func testMigrations(n int) []Migration {
	var list []Migration
	for v := 1; v <= n; v++ {
		list = append(list, Migration{Version: v, Name: fmt.Sprintf("step %d", v), Up: func(tx *gorm.DB) error {
			if v == 1 {
				if err := tx.Exec("CREATE TABLE mig_runs (version INTEGER NOT NULL)").Error; err != nil {
					return err
				}
			}
			if err := tx.Exec(fmt.Sprintf("CREATE TABLE mig_%d (id INTEGER PRIMARY KEY)", v)).Error; err != nil {
				return err
			}
			return tx.Exec("INSERT INTO mig_runs (version) VALUES (?)", v).Error
		}})
	}
	return list
}

// runs is how many times each version ran.
func runs(t *testing.T, db *gorm.DB) map[int]int {
	t.Helper()
	var vs []int
	if err := db.Raw("SELECT version FROM mig_runs ORDER BY version").Scan(&vs).Error; err != nil {
		t.Fatal(err)
	}
	m := map[int]int{}
	for _, v := range vs {
		m[v]++
	}
	return m
}

func versions(ms []Migration) []int {
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestRunMigrationsFreshThenUpgrade(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, testdb.Target(t, t.TempDir()))
	upgrades := 0
	opts := MigrateOptions{BeforeUpgrade: func(_ context.Context, _ *gorm.DB, from, to int) error {
		upgrades++
		if from != 2 || to != 3 {
			t.Errorf("BeforeUpgrade(%d, %d), want (2, 3)", from, to)
		}
		return nil
	}}

	// A fresh database: every version, no backup (nothing to lose).
	res, err := RunMigrations(ctx, db, testMigrations(2), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.From != 0 || res.To != 2 || res.Upgrade || fmt.Sprint(versions(res.Applied)) != "[1 2]" || upgrades != 0 {
		t.Fatalf("fresh: %+v, %d upgrades; want 0 to 2, versions 1 and 2, no upgrade", res, upgrades)
	}
	// Nothing pending.
	res, err = RunMigrations(ctx, db, testMigrations(2), opts)
	if err != nil || res.From != 2 || res.To != 2 || len(res.Applied) != 0 {
		t.Fatalf("again: %+v, %v; want nothing applied", res, err)
	}
	// A binary that knows a third version (the database has users: it holds data).
	if err := db.AutoMigrate(&User{}); err != nil {
		t.Fatal(err)
	}
	res, err = RunMigrations(ctx, db, testMigrations(3), opts)
	if err != nil || res.From != 2 || res.To != 3 || !res.Upgrade || fmt.Sprint(versions(res.Applied)) != "[3]" || upgrades != 1 {
		t.Fatalf("upgrade: %+v, %v, %d upgrades; want version 3 applied after one BeforeUpgrade", res, err, upgrades)
	}
	if got := runs(t, db); fmt.Sprint(got) != "map[1:1 2:1 3:1]" {
		t.Errorf("runs = %v, want each version once", got)
	}
	var rows []SchemaMigration
	if err := db.Order("version").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[2].Name != "step 3" || rows[2].AppliedAt.IsZero() {
		t.Errorf("schema_migrations = %+v, want versions 1 to 3 with names and times", rows)
	}
}

// A database that existed before versions (Tally's tables, no schema_migrations) is an
// upgrade from 0: BeforeUpgrade runs, so it is backed up before the baseline records it.
func TestRunMigrationsUnversionedDatabase(t *testing.T) {
	db := openEmpty(t, testdb.Target(t, t.TempDir()))
	if err := db.AutoMigrate(&User{}); err != nil {
		t.Fatal(err)
	}
	var from, to = -1, -1
	res, err := RunMigrations(context.Background(), db, testMigrations(1), MigrateOptions{
		BeforeUpgrade: func(_ context.Context, _ *gorm.DB, f, t int) error { from, to = f, t; return nil }})
	if err != nil || !res.Upgrade || from != 0 || to != 1 || res.To != 1 {
		t.Fatalf("%+v, %v, BeforeUpgrade(%d, %d); want an upgrade from 0 to 1", res, err, from, to)
	}
}

func TestRunMigrationsStopsWhenBeforeUpgradeFails(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, testdb.Target(t, t.TempDir()))
	if _, err := RunMigrations(ctx, db, testMigrations(1), MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&User{}); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("disk full")
	_, err := RunMigrations(ctx, db, testMigrations(2), MigrateOptions{
		BeforeUpgrade: func(context.Context, *gorm.DB, int, int) error { return failed }})
	if !errors.Is(err, failed) {
		t.Fatalf("err = %v, want the backup's", err)
	}
	if v, err := SchemaVersion(db); err != nil || v != 1 {
		t.Errorf("version = %d, %v; want 1 (nothing applied)", v, err)
	}
}

func TestRunMigrationsRollsBackAFailedVersion(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, testdb.Target(t, t.TempDir()))
	list := testMigrations(2)
	up := list[1].Up
	list[1].Up = func(tx *gorm.DB) error {
		if err := up(tx); err != nil {
			return err
		}
		return errors.New("broken step")
	}
	res, err := RunMigrations(ctx, db, list, MigrateOptions{})
	if err == nil || !strings.Contains(err.Error(), "migration 2 (step 2): broken step") {
		t.Fatalf("err = %v, want migration 2's", err)
	}
	if res.To != 1 {
		t.Errorf("To = %d, want 1", res.To)
	}
	if db.Migrator().HasTable("mig_2") {
		t.Error("mig_2 exists: the failed version was not rolled back")
	}
	if res, err := RunMigrations(ctx, db, testMigrations(2), MigrateOptions{}); err != nil || fmt.Sprint(versions(res.Applied)) != "[2]" {
		t.Fatalf("after the fix: %+v, %v; want version 2 applied", res, err)
	}
}

func TestRunMigrationsRefusesANewerDatabase(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, testdb.Target(t, t.TempDir()))
	if _, err := RunMigrations(ctx, db, testMigrations(2), MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&SchemaMigration{Version: 999, Name: "from the future", AppliedAt: db.NowFunc()}).Error; err != nil {
		t.Fatal(err)
	}
	called := false
	_, err := RunMigrations(ctx, db, testMigrations(3), MigrateOptions{
		BeforeUpgrade: func(context.Context, *gorm.DB, int, int) error { called = true; return nil }})
	var newer *NewerSchemaError
	if !errors.As(err, &newer) || newer.Database != 999 || newer.Binary != 3 {
		t.Fatalf("err = %v, want a NewerSchemaError naming 999 and 3", err)
	}
	for _, want := range []string{"999", "3", "newer Tally", "restore a backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
	if called || db.Migrator().HasTable("mig_3") {
		t.Error("a newer database was changed")
	}
}

// With nothing pending a start costs one statement: no catalog queries, no AutoMigrate.
func TestRunMigrationsUpToDateIsOneQuery(t *testing.T) {
	ctx := context.Background()
	db := openEmpty(t, testdb.Target(t, t.TempDir()))
	if _, err := RunMigrations(ctx, db, testMigrations(2), MigrateOptions{}); err != nil {
		t.Fatal(err)
	}
	var statements atomic.Int32
	count := func(*gorm.DB) { statements.Add(1) }
	cb := db.Callback()
	for name, err := range map[string]error{
		"query":  cb.Query().Before("gorm:query").Register("test:count", count),
		"row":    cb.Row().Before("gorm:row").Register("test:count", count),
		"raw":    cb.Raw().Before("gorm:raw").Register("test:count", count),
		"create": cb.Create().Before("gorm:create").Register("test:count", count),
	} {
		if err != nil {
			t.Fatal(name, err)
		}
	}
	res, err := RunMigrations(ctx, db, testMigrations(2), MigrateOptions{})
	if err != nil || len(res.Applied) != 0 {
		t.Fatal(res, err)
	}
	if n := statements.Load(); n != 1 {
		t.Errorf("%d statements, want 1", n)
	}
}

// Instances that start together on an empty database: every one ends at the last version and
// each version ran once. On Postgres one migrates under the advisory lock while the others
// wait; on SQLite the writers queue on the file.
func TestRunMigrationsConcurrentStarts(t *testing.T) {
	target := testdb.Target(t, t.TempDir())
	const instances = 3
	dbs := make([]*gorm.DB, instances)
	for i := range dbs {
		dbs[i] = openEmpty(t, target)
	}
	list := testMigrations(4)
	var wg sync.WaitGroup
	results := make([]MigrateResult, instances)
	errs := make([]error, instances)
	start := make(chan struct{})
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = RunMigrations(context.Background(), db, list, MigrateOptions{})
		}()
	}
	close(start)
	wg.Wait()
	applied := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Fatalf("instance %d: %v", i, errs[i])
		}
		if results[i].To != 4 {
			t.Errorf("instance %d ended at %d, want 4", i, results[i].To)
		}
		applied += len(results[i].Applied)
	}
	if applied != 4 {
		t.Errorf("%d versions applied in all, want 4", applied)
	}
	if got := runs(t, dbs[0]); fmt.Sprint(got) != "map[1:1 2:1 3:1 4:1]" {
		t.Errorf("runs = %v, want each version once", got)
	}
}

func TestCheckMigrations(t *testing.T) {
	up := func(*gorm.DB) error { return nil }
	for _, tc := range []struct {
		name string
		list []Migration
		ok   bool
	}{
		{"ordered", []Migration{{1, "a", up}, {2, "b", up}}, true},
		{"empty", nil, false},
		{"gap", []Migration{{1, "a", up}, {3, "b", up}}, false},
		{"unordered", []Migration{{2, "b", up}, {1, "a", up}}, false},
		{"no name", []Migration{{1, "", up}}, false},
		{"no Up", []Migration{{1, "a", nil}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkMigrations(tc.list); (err == nil) != tc.ok {
				t.Errorf("checkMigrations = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
