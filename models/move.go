package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Moving an install: Move copies a SQLite database into an empty Postgres database that the
// same binary has migrated, in one Postgres transaction, and proves the copy before it commits.
//
// Triggers on Postgres fire for the copied rows, so the tables they keep (the ledger's month
// totals, payees, versions) are not copied but rebuilt as the rows arrive; the checks then hold
// the rebuilt totals against the source's and against sums of the copied rows.

// MoveTable is a table Move copies, row by row and with every column, ids included.
type MoveTable struct {
	Name string
	// Order is the ORDER BY of the read: rows a row points at come before it.
	Order string
	// Later are columns pointing at rows of the same table that may come after the row (both
	// legs of a transfer point at each other): written NULL, then set once every row is in.
	// The table's key must be its id column.
	Later []string
	// IDsAlso are tables whose ids this table's sequence handed out (deleted transactions keep
	// theirs for an undo): the sequence is set past their ids too.
	IDsAlso []string
	// Skip names a table that is known and left behind: counters that restart at zero.
	Skip bool
}

// MoveCheck is a query whose rows must be the same on the copy as on the source (OnSource), or
// the same on the copy as Want's rows on the copy: how a rebuilt total is proven. Queries
// return plain values (integers, text); rows are compared as sets.
type MoveCheck struct {
	Name     string
	Query    string
	Want     string // on the copy; empty: Query on the source
	OnSource bool
}

// MoveStore is a key-value table of Fiber's storage (k, v, e) in another SQLite file (the
// sessions), copied into the Postgres table of the same storage without the expired rows.
type MoveStore struct {
	Source   *sql.DB
	From, To string
}

// MovePlan is everything Move copies and checks.
type MovePlan struct {
	Tables []MoveTable
	// Derived are the tables triggers fill on the copy: not copied, not counted, checked.
	Derived []string
	Checks  []MoveCheck
	Stores  []MoveStore
	// Now decides which stored sessions have expired.
	Now time.Time
}

// UserTables are the tables of models in an order Move can copy them in: users first.
func UserTables() []MoveTable {
	return []MoveTable{
		{Name: "users", Order: "id"},
		{Name: "registrations", Order: "id"},
		{Name: "profiles", Order: "user_id"},
		{Name: "avatars", Order: "user_id"},
		{Name: "auth_sessions", Order: "id"},
		{Name: "emails", Order: "id"},
		{Name: "security_events", Order: "id"},
		{Name: "login_failures", Order: "id"},
		{Name: "login_locks", Order: `"key"`},
		// Per-IP counters of the last hour: they restart at zero, as at a restart of sessions.db.
		{Name: "rate_counts", Skip: true},
		{Name: "two_factor_secrets", Order: "user_id"},
		{Name: "recovery_codes", Order: "id"},
		{Name: "passkeys", Order: "id"},
		// Spent ceremony challenges live minutes; a ceremony begun before the move is begun again.
		{Name: "passkey_challenges", Skip: true},
	}
}

// ErrNotEmpty is a move's target that holds data already.
var ErrNotEmpty = errors.New("the database is not empty")

// MovedTable is one table's row count on the source and on the copy.
type MovedTable struct {
	Name           string
	Source, Target int64
}

// MoveReport is what Move copied and proved.
type MoveReport struct {
	Tables []MovedTable
	// Checks holds each check's name and how many rows it compared.
	Checks    []MovedTable
	Sequences int
	Took      time.Duration
}

// Rows is the number of rows copied.
func (r *MoveReport) Rows() int64 {
	var n int64
	for _, t := range r.Tables {
		n += t.Target
	}
	return n
}

// MoveMismatchError is a copy that did not prove equal to its source; nothing was committed.
type MoveMismatchError struct{ Problems []string }

func (e *MoveMismatchError) Error() string {
	return "the copy does not match the source, nothing was written: " + strings.Join(e.Problems, "; ")
}

// CheckMoveTarget returns ErrNotEmpty (wrapped, naming what it found) unless db is empty for a
// move: no row in schema_migrations and none in any table of plan (copied, derived or a store)
// that exists. Tables that exist without rows do not count, nor tables that are not Tally's.
func CheckMoveTarget(db *gorm.DB, plan MovePlan) error {
	return checkEmpty(db, moveTargetTables(plan))
}

func checkEmpty(db *gorm.DB, tables []string) error {
	var found []string
	for _, t := range tables {
		if !db.Migrator().HasTable(t) {
			continue
		}
		var n int64
		if err := db.Raw(`SELECT count(*) FROM (SELECT 1 FROM ` + quoteIdent(t) + ` LIMIT 1000) t`).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			more := ""
			if n == 1000 {
				more = " or more"
			}
			found = append(found, fmt.Sprintf("%s (%d row%s%s)", t, n, plural(n), more))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: it holds %s", ErrNotEmpty, strings.Join(found, ", "))
	}
	return nil
}

func plural(n int64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func moveTargetTables(plan MovePlan) []string {
	return append([]string{"schema_migrations"}, moveDataTables(plan)...)
}

// moveDataTables are the tables a move writes (or its triggers do).
func moveDataTables(plan MovePlan) []string {
	var names []string
	for _, t := range plan.Tables {
		if !t.Skip {
			names = append(names, t.Name)
		}
	}
	names = append(names, plan.Derived...)
	for _, s := range plan.Stores {
		names = append(names, s.To)
	}
	return names
}

// Move copies src (SQLite, which no one else writes meanwhile) into dst (Postgres, migrated to
// the same version, empty: see CheckMoveTarget) in one transaction: every table of plan with
// its ids, the stores, every sequence set past the ids it handed out; then it compares each
// table's row count and runs the checks. Any difference rolls everything back and is returned
// as a *MoveMismatchError. A source table the plan does not name is refused before anything is
// written, so a table added later cannot be left behind.
func Move(ctx context.Context, src, dst *gorm.DB, plan MovePlan) (*MoveReport, error) {
	if IsPostgres(src) || !IsPostgres(dst) {
		return nil, errors.New("move: the source must be SQLite and the target Postgres")
	}
	start := time.Now()
	from, err := SchemaVersion(src)
	if err != nil {
		return nil, err
	}
	to, err := SchemaVersion(dst)
	if err != nil {
		return nil, err
	}
	if from != to || from == 0 {
		return nil, fmt.Errorf("move: the source is at schema version %d and the target at %d: migrate both with this Tally first", from, to)
	}
	srcDB, err := src.DB()
	if err != nil {
		return nil, err
	}
	// One transaction for every read (the writer connection, BEGIN IMMEDIATE): the counts and
	// checks see the snapshot the rows were copied from.
	stx, err := srcDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer stx.Rollback()
	tables, err := presentTables(ctx, stx, plan)
	if err != nil {
		return nil, err
	}
	rep := &MoveReport{}
	quiet := dst.WithContext(ctx).Session(&gorm.Session{Logger: logger.Discard})
	err = Transaction(quiet, func(tx *gorm.DB) error {
		if err := lockEmpty(tx, plan); err != nil {
			return err
		}
		for _, t := range tables {
			if err := copyTable(ctx, stx, tx, t); err != nil {
				return fmt.Errorf("copy %s: %w", t.Name, err)
			}
		}
		copied := make([]int64, len(plan.Stores))
		for i, s := range plan.Stores {
			if copied[i], err = copyStore(ctx, s, tx, plan.Now); err != nil {
				return fmt.Errorf("copy %s into %s: %w", s.From, s.To, err)
			}
		}
		if rep.Sequences, err = setSequences(ctx, stx, tx, tables); err != nil {
			return fmt.Errorf("set the sequences: %w", err)
		}
		return verifyMove(ctx, stx, tx, tables, plan, copied, rep)
	})
	if err != nil {
		return nil, err
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// presentTables is plan.Tables that the source holds, after checking that the source holds no
// other table: a table the plan does not know would be left behind.
func presentTables(ctx context.Context, stx *sql.Tx, plan MovePlan) ([]MoveTable, error) {
	names, err := column[string](ctx, stx, `SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	if err != nil {
		return nil, err
	}
	known := []string{"schema_migrations"}
	known = append(known, plan.Derived...)
	var out []MoveTable
	for _, t := range plan.Tables {
		known = append(known, t.Name)
		if !t.Skip && slices.Contains(names, t.Name) {
			out = append(out, t)
		}
	}
	var unknown []string
	for _, n := range names {
		if !slices.Contains(known, n) {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("the SQLite database has tables this Tally does not know how to move: %s", strings.Join(unknown, ", "))
	}
	return out, nil
}

// lockEmpty takes the target's tables for the transaction (nobody writes them until it ends)
// and checks again, under the lock, that they are empty (schema_migrations aside: the target
// was migrated since CheckMoveTarget).
func lockEmpty(tx *gorm.DB, plan MovePlan) error {
	var present []string
	for _, t := range moveDataTables(plan) {
		if tx.Migrator().HasTable(t) {
			present = append(present, quoteIdent(t))
		}
	}
	if err := tx.Exec("LOCK TABLE " + strings.Join(present, ", ") + " IN EXCLUSIVE MODE").Error; err != nil {
		return err
	}
	return checkEmpty(tx, moveDataTables(plan))
}
