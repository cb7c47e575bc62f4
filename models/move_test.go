package models_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
	"tally/models/ledger"
	"tally/models/schema"
	"tally/testkit"
	"tally/testkit/testdb"
)

func movePlan() models.MovePlan { return ledger.MovePlan(time.Now()) }

func openMigrated(t *testing.T, target string) *gorm.DB {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := models.Open(target, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(db) })
	if _, err := schema.Up(context.Background(), db, t.TempDir(), log); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestMoveTargetEmpty pins down what a move calls empty: no schema_migrations row and no row in
// a table Tally keeps; empty tables of Tally's and other applications' tables do not count.
func TestMoveTargetEmpty(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("a move's target is Postgres: runs on the Postgres pass (" + testdb.EnvURL + ")")
	}
	plan := movePlan()
	cases := []struct {
		name  string
		setup func(t *testing.T, db *gorm.DB)
		want  string // "" for empty, else what the error names
	}{
		{"a new database", func(*testing.T, *gorm.DB) {}, ""},
		{"another application's table with rows", func(t *testing.T, db *gorm.DB) {
			exec(t, db, "CREATE TABLE orders (id int)", "INSERT INTO orders VALUES (1)")
		}, ""},
		{"Tally's tables without rows or versions", func(t *testing.T, db *gorm.DB) {
			exec(t, db, "CREATE TABLE users (id int)", "CREATE TABLE transactions (id int)")
		}, ""},
		{"a row in a table Tally keeps", func(t *testing.T, db *gorm.DB) {
			exec(t, db, "CREATE TABLE users (id int)", "INSERT INTO users VALUES (1)")
		}, "users (1 row)"},
		{"a row in a table the triggers keep", func(t *testing.T, db *gorm.DB) {
			exec(t, db, "CREATE TABLE payees (name text)", "INSERT INTO payees VALUES ('a'), ('b')")
		}, "payees (2 rows)"},
		{"migrated by a server start, nothing else", func(t *testing.T, db *gorm.DB) {
			if _, err := schema.Up(context.Background(), db, t.TempDir(), slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
		}, "schema_migrations ("},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, err := models.Open(testdb.Target(t, t.TempDir()), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			tc.setup(t, db)
			err = models.CheckMoveTarget(db, plan)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("CheckMoveTarget: %v, want empty", err)
			case tc.want != "" && (!errors.Is(err, models.ErrNotEmpty) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("CheckMoveTarget: %v, want ErrNotEmpty naming %q", err, tc.want)
			}
		})
	}
}

// TestMoveRollsBackOnAMismatch: a check that does not hold leaves the target without a row.
func TestMoveRollsBackOnAMismatch(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("a move's target is Postgres: runs on the Postgres pass (" + testdb.EnvURL + ")")
	}
	src := openMigrated(t, filepath.Join(t.TempDir(), "tally.db"))
	testkit.CreateUser(t, src, models.NewUser{Username: "ada", Email: "ada@example.com"}, testkit.Password, time.Now())
	dst := openMigrated(t, testdb.Target(t, t.TempDir()))
	plan := movePlan()
	plan.Checks = append(plan.Checks, models.MoveCheck{Name: "one is two", Query: "SELECT 1", Want: "SELECT 2"})
	_, err := models.Move(context.Background(), src, dst, plan)
	var mismatch *models.MoveMismatchError
	if !errors.As(err, &mismatch) || !strings.Contains(err.Error(), "one is two") {
		t.Fatalf("Move: %v, want a mismatch of the check that cannot hold", err)
	}
	var n int64
	if err := dst.Table("users").Count(&n).Error; err != nil || n != 0 {
		t.Fatalf("users on the target after the failed move: %d (%v), want 0", n, err)
	}
	plan.Checks = plan.Checks[:len(plan.Checks)-1]
	rep, err := models.Move(context.Background(), src, dst, plan)
	if err != nil {
		t.Fatalf("the same move without the failing check: %v", err)
	}
	if rep.Rows() != 1 {
		t.Fatalf("moved %d rows, want the one user", rep.Rows())
	}
}

func exec(t *testing.T, db *gorm.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatal(err)
		}
	}
}
