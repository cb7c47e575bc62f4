package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
	for i := range plan.Stores {
		if err := CreateStorageTable(dst, plan.Stores[i].To); err != nil {
			return nil, fmt.Errorf("create %s: %w", plan.Stores[i].To, err)
		}
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

// copyTable copies one table in batches of multi-row INSERTs, converting each value to the
// target column's type (SQLite's 0 and 1 to booleans, its time text to timestamps).
func copyTable(ctx context.Context, stx *sql.Tx, tx *gorm.DB, t MoveTable) error {
	cols, err := column[string](ctx, stx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, t.Name)
	if err != nil {
		return err
	}
	types, err := targetTypes(tx, t.Name)
	if err != nil {
		return err
	}
	later := make([]int, 0, len(t.Later))
	for _, c := range cols {
		if _, ok := types[c]; !ok {
			return fmt.Errorf("column %s is missing on Postgres", c)
		}
	}
	for _, l := range t.Later {
		i := slices.Index(cols, l)
		if i < 0 {
			return fmt.Errorf("no column %s", l)
		}
		later = append(later, i)
	}
	idCol := slices.Index(cols, "id")
	if len(later) > 0 && idCol < 0 {
		return errors.New("a table with Later columns needs an id column")
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	rows, err := stx.QueryContext(ctx, "SELECT "+strings.Join(quoted, ", ")+" FROM "+quoteIdent(t.Name)+" ORDER BY "+t.Order)
	if err != nil {
		return err
	}
	defer rows.Close()

	perBatch := max(1, min(1000, 60000/len(cols)))
	head := "INSERT INTO " + quoteIdent(t.Name) + " (" + strings.Join(quoted, ", ") + ") VALUES "
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var args []any
	var deferred [][]any // per Later column: id, value pairs
	deferred = make([][]any, len(later))
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		stmt := head + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
		err := tx.Exec(stmt, args...).Error
		args, n = args[:0], 0
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			cv, err := convertValue(v, types[cols[i]])
			if err != nil {
				return fmt.Errorf("column %s: %w", cols[i], err)
			}
			if j := slices.Index(later, i); j >= 0 && cv != nil {
				id, err := convertValue(vals[idCol], "bigint")
				if err != nil {
					return err
				}
				deferred[j] = append(deferred[j], id, cv)
				cv = nil
			}
			args = append(args, cv)
		}
		if n++; n == perBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	for j, l := range t.Later {
		if err := setLater(tx, t.Name, l, types[l], deferred[j]); err != nil {
			return fmt.Errorf("set %s: %w", l, err)
		}
	}
	return nil
}

// setLater sets column of table from id, value pairs, a batch at a time.
func setLater(tx *gorm.DB, table, col, typ string, pairs []any) error {
	const perBatch = 1000
	for len(pairs) > 0 {
		k := min(len(pairs), 2*perBatch)
		batch := pairs[:k]
		pairs = pairs[k:]
		one := "(CAST(? AS bigint), CAST(? AS " + typ + "))"
		stmt := "UPDATE " + quoteIdent(table) + " AS t SET " + quoteIdent(col) + " = v.c FROM (VALUES " +
			strings.TrimSuffix(strings.Repeat(one+", ", k/2), ", ") + ") AS v(id, c) WHERE t.id = v.id"
		res := tx.Exec(stmt, batch...)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(k/2) {
			return fmt.Errorf("%d rows set, want %d", res.RowsAffected, k/2)
		}
	}
	return nil
}

// copyStore copies a Fiber storage table's unexpired rows (e = 0 never expires).
func copyStore(ctx context.Context, s MoveStore, tx *gorm.DB, now time.Time) (int64, error) {
	rows, err := s.Source.QueryContext(ctx, "SELECT k, v, e FROM "+quoteIdent(s.From)+" WHERE e = 0 OR e > ? ORDER BY k", now.Unix())
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var k string
		var v []byte
		var e int64
		if err := rows.Scan(&k, &v, &e); err != nil {
			return n, err
		}
		if err := tx.Exec("INSERT INTO "+quoteIdent(s.To)+" (k, v, e) VALUES (?, ?, ?)", k, v, e).Error; err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// setSequences sets each identity or serial column's sequence past the highest id the source
// handed out: the table's, its IDsAlso tables', and SQLite's AUTOINCREMENT counter (ids of
// rows deleted since are never handed out again there, nor here).
func setSequences(ctx context.Context, stx *sql.Tx, tx *gorm.DB, tables []MoveTable) (int, error) {
	autoinc := map[string]int64{}
	seqs, err := rowsOf(ctx, stx, `SELECT name, seq FROM sqlite_sequence`)
	if err == nil {
		for _, r := range seqs {
			n, _ := strconv.ParseInt(r[1], 10, 64)
			autoinc[r[0]] = n
		}
	}
	set := 0
	for _, t := range tables {
		var cols []string
		if err := tx.Raw(`SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`,
			t.Name).Scan(&cols).Error; err != nil {
			return set, err
		}
		for _, c := range cols {
			high := autoinc[t.Name]
			for _, table := range append([]string{t.Name}, t.IDsAlso...) {
				var m sql.NullInt64
				if err := tx.Raw("SELECT max(" + quoteIdent(c) + ") FROM " + quoteIdent(table)).Scan(&m).Error; err != nil {
					return set, err
				}
				high = max(high, m.Int64)
			}
			if high == 0 {
				continue
			}
			if err := tx.Exec("SELECT setval(pg_get_serial_sequence(?, ?), ?)", quoteIdent(t.Name), c, high).Error; err != nil {
				return set, err
			}
			set++
		}
	}
	return set, nil
}

// verifyMove compares every table's row count and runs the checks, inside the transaction.
func verifyMove(ctx context.Context, stx *sql.Tx, tx *gorm.DB, tables []MoveTable, plan MovePlan, copied []int64, rep *MoveReport) error {
	var problems []string
	for _, t := range tables {
		var want, got int64
		if err := stx.QueryRowContext(ctx, "SELECT count(*) FROM "+quoteIdent(t.Name)).Scan(&want); err != nil {
			return err
		}
		if err := tx.Raw("SELECT count(*) FROM " + quoteIdent(t.Name)).Scan(&got).Error; err != nil {
			return err
		}
		rep.Tables = append(rep.Tables, MovedTable{Name: t.Name, Source: want, Target: got})
		if want != got {
			problems = append(problems, fmt.Sprintf("%s: %d rows on SQLite, %d on Postgres", t.Name, want, got))
		}
	}
	for i, s := range plan.Stores {
		var got int64
		if err := tx.Raw("SELECT count(*) FROM " + quoteIdent(s.To)).Scan(&got).Error; err != nil {
			return err
		}
		rep.Tables = append(rep.Tables, MovedTable{Name: s.To, Source: copied[i], Target: got})
		if copied[i] != got {
			problems = append(problems, fmt.Sprintf("%s: %d rows copied, %d on Postgres", s.To, copied[i], got))
		}
	}
	onCopy := gormQuerier{tx}
	for _, c := range plan.Checks {
		got, err := rowsOf(ctx, onCopy, c.Query)
		if err != nil {
			return fmt.Errorf("check %s on Postgres: %w", c.Name, err)
		}
		var want [][]string
		if c.OnSource {
			want, err = rowsOf(ctx, stx, c.Query)
		} else {
			want, err = rowsOf(ctx, onCopy, c.Want)
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", c.Name, err)
		}
		rep.Checks = append(rep.Checks, MovedTable{Name: c.Name, Source: int64(len(want)), Target: int64(len(got))})
		if d := diffRows(want, got); d != "" {
			problems = append(problems, c.Name+": "+d)
		}
	}
	if len(problems) > 0 {
		return &MoveMismatchError{Problems: problems}
	}
	return nil
}

// diffRows compares two sets of rows and describes the first few differences.
func diffRows(want, got [][]string) string {
	key := func(r []string) string { return strings.Join(r, "|") }
	count := map[string]int{}
	for _, r := range want {
		count[key(r)]++
	}
	for _, r := range got {
		count[key(r)]--
	}
	var missing, extra []string
	for _, k := range slices.Sorted(mapKeys(count)) {
		switch n := count[k]; {
		case n > 0:
			missing = append(missing, k)
		case n < 0:
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) == 0 {
		return ""
	}
	first := func(s []string) string {
		if len(s) > 3 {
			return strings.Join(s[:3], ", ") + fmt.Sprintf(" and %d more", len(s)-3)
		}
		return strings.Join(s, ", ")
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "expected but missing "+first(missing))
	}
	if len(extra) > 0 {
		parts = append(parts, "unexpected "+first(extra))
	}
	return strings.Join(parts, "; ")
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// targetTypes is each column's data_type on Postgres.
func targetTypes(tx *gorm.DB, table string) (map[string]string, error) {
	var cols []struct{ ColumnName, DataType string }
	if err := tx.Raw(`SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?`, table).Scan(&cols).Error; err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, errors.New("no such table on Postgres")
	}
	out := make(map[string]string, len(cols))
	for _, c := range cols {
		out[c.ColumnName] = c.DataType
	}
	return out, nil
}

// convertValue turns a value read from SQLite into one for a Postgres column of type typ.
func convertValue(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok && typ != "bytea" {
		v = string(b)
	}
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case float64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case "smallint", "integer", "bigint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case float64:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case "timestamp with time zone", "timestamp without time zone":
		switch x := v.(type) {
		case time.Time:
			// Postgres keeps microseconds, and rounds: cut as models.Open's clock does.
			return x.UTC().Truncate(time.Microsecond), nil
		case string:
			t, err := parseSQLiteTime(x)
			if err != nil {
				return nil, err
			}
			return t.UTC().Truncate(time.Microsecond), nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "text", "character varying", "character":
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("cannot store %T %v as %s", v, v, typ)
}

// parseSQLiteTime reads a time SQLite holds as text: GORM's layout, RFC 3339, or a plain date.
func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano,
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// gormQuerier reads through a GORM handle (the copy's transaction).
type gormQuerier struct{ db *gorm.DB }

func (q gormQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return q.db.WithContext(ctx).Raw(query, args...).Rows()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// rowsOf reads every row of a query as text.
func rowsOf(ctx context.Context, q querier, query string, args ...any) ([][]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		r := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
				r[i] = "NULL"
			case []byte:
				r[i] = string(x)
			default:
				r[i] = fmt.Sprint(x)
			}
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// column reads the first column of every row.
func column[T any](ctx context.Context, q querier, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
