package ledger

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// Postgres has no INDEXED BY: its planner chooses by cost, so its plan tests run on a database
// of a realistic shape (several users, one with many rows, after VACUUM ANALYZE) and check
// that what the planner chose reads by index. An empty database has no meaningful plan there:
// reading a table of no rows is cheapest without an index.

// planNode is a node of Postgres's EXPLAIN (FORMAT JSON), with what the plan tests read.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	Alias        string     `json:"Alias"`
	IndexName    string     `json:"Index Name"`
	IndexCond    string     `json:"Index Cond"`
	Plans        []planNode `json:"Plans"`
}

// explainPostgres is the plan of q on Postgres, one line a node ("Index Scan transactions t
// using transactions_register (…)"), depth first, indented by depth.
func explainPostgres(t testing.TB, db *gorm.DB, q query) []string {
	t.Helper()
	var raw string
	noErr(t, db.Raw("EXPLAIN (FORMAT JSON) "+q.sql, q.args...).Row().Scan(&raw))
	var plans []struct{ Plan planNode }
	noErr(t, json.Unmarshal([]byte(raw), &plans))
	var lines []string
	var walk func(n planNode, depth int)
	walk = func(n planNode, depth int) {
		line := strings.Repeat("  ", depth) + n.NodeType
		if n.RelationName != "" {
			line += " on " + n.RelationName + " " + n.Alias
		}
		if n.IndexName != "" {
			line += " using " + n.IndexName + " " + n.IndexCond
		}
		lines = append(lines, line)
		for _, c := range n.Plans {
			walk(c, depth+1)
		}
	}
	for _, p := range plans {
		walk(p.Plan, 0)
	}
	return lines
}

// seedRealistic fills db as a planner should see a real install: b's history of n rows beside
// eight other users' smaller ones, then VACUUM ANALYZE (statistics, and the visibility map
// that index-only scans need, which autovacuum keeps on a live database).
func seedRealistic(t testing.TB, db *gorm.DB, b *Book, n int) seedAccounts {
	t.Helper()
	s := seed(t, db, b, n)
	for i := range 8 {
		seed(t, db, newBook(t, db, newUser(t, db, fmt.Sprintf("user%d", i))), n/4)
	}
	noErr(t, db.Exec(`INSERT INTO budgets (user_id, month, category_id, currency, amount, updated_at)
		SELECT c.user_id, m.month, c.id, 'USD', 100, CURRENT_TIMESTAMP FROM categories c
		CROSS JOIN (SELECT to_char(DATE '2023-01-01' + make_interval(months => i), 'YYYY-MM') AS month
			FROM generate_series(0, 23) i) m
		ON CONFLICT DO NOTHING`).Error)
	noErr(t, db.Exec("VACUUM ANALYZE").Error)
	return s
}

// seqScan matches a sequential scan of a table that grows with a user's history.
func seqScanOf(plan []string, tables ...string) bool {
	for _, line := range plan {
		for _, table := range tables {
			if strings.Contains(line, "Seq Scan on "+table+" ") {
				return true
			}
		}
	}
	return false
}

// checkPostgresPlans asserts on q's plan: no sequential scan of transactions or the month
// totals, and, for the pages that walk an index in order (ordered), no sort; the accounts and
// categories, a few rows per user, may be read whole when the planner finds that cheaper.
func checkPostgresPlans(t *testing.T, db *gorm.DB, qs map[string]query, ordered map[string]string) {
	t.Helper()
	for name, q := range qs {
		plan := explainPostgres(t, db, q)
		text := strings.Join(plan, "\n")
		bad := seqScanOf(plan, "transactions", "account_months", "category_months")
		if index, ok := ordered[name]; ok {
			bad = bad || strings.Contains(text, "Sort") || !strings.Contains(text, "using "+index)
		}
		if bad {
			t.Errorf("%s:\n%s\n\n%s", name, q.sql, text)
		}
		if testing.Verbose() {
			t.Logf("%s:\n%s", name, text)
		}
	}
}
