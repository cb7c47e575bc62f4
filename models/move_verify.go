package models

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gorm.io/gorm"
)

// Proving a copy equal to its source: row counts and the plan's checks, compared as text.

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
	for _, k := range slices.Sorted(maps.Keys(count)) {
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
