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
)

// Copying a table or a store row by row, converting each value to the Postgres column's type.

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
