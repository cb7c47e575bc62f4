package ledger

import (
	"regexp"
	"strings"
	"testing"

	"tally/testkit/testdb"
)

// reportPlanQueries are the reports' and the budget's queries, built by the functions the book
// runs.
func reportPlanQueries(b *Book, accountID uint) map[string]query {
	return map[string]query{
		"category months":              b.categoryMonthsQuery("2024-01", "2024-12", 0),
		"category months of account":   b.categoryMonthsQuery("2024-01", "2024-12", accountID),
		"category months of one month": b.categoryMonthsQuery("2024-03", "2024-03", 0),
		"net worth":                    b.netWorthQuery("2024-12", 0),
		"net worth of account":         b.netWorthQuery("2024-12", accountID),
		"budget":                       b.budgetQuery("2024-01", "2024-12", 0),
		"budget of account":            b.budgetQuery("2024-01", "2024-12", accountID),
		"first month":                  b.firstMonthQuery(0),
		"first month of account":       b.firstMonthQuery(accountID),
		"budget of one month":          b.budgetQuery("2024-03", "2024-03", 0),
	}
}

var (
	reportFullScan = regexp.MustCompile(`\bSCAN (transactions|t|category_months|account_months|budgets)\b`)
	fromTheUser    = regexp.MustCompile(`^SEARCH \w+ USING (PRIMARY KEY|INDEX \w+|COVERING INDEX \w+) \(user_id=\?`)
	// compoundLine is a line of SQLite's plan that reads no table: the frame of a UNION ALL.
	compoundLine = regexp.MustCompile(`^(COMPOUND QUERY|LEFT-MOST SUBQUERY|UNION ALL)$`)
)

// readsFromTheUser says every table SQLite's plan reads is searched from the user's keys.
func readsFromTheUser(plan []string) bool {
	for _, line := range plan {
		if !compoundLine.MatchString(line) && !fromTheUser.MatchString(line) {
			return false
		}
	}
	return len(plan) > 0
}

// indexedFromTheUser says every index Postgres's plan reads is read from the user's keys, one
// at least for each part of a UNION ALL.
func indexedFromTheUser(plan []string, q query) bool {
	n := 0
	for _, line := range plan {
		if strings.Contains(line, " using ") {
			if !strings.Contains(line, "(user_id = ") {
				return false
			}
			n++
		}
	}
	return n >= strings.Count(q.sql, "UNION ALL")+1
}

// TestReportQueryPlans asserts that the reports and the budget read the rollups by their keys,
// starting from the user: no full scan, no sort. Like TestQueryPlans it plans on an empty
// database and again after ANALYZE of a filled one.
func TestReportQueryPlans(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	if testdb.Postgres() {
		s := seedRealistic(t, db, b, 10_000)
		for name, q := range reportPlanQueries(b, s.checking) {
			plan := explainPostgres(t, db, q)
			text := strings.Join(plan, "\n")
			// Every rollup is read from the user's keys: an index condition on user_id.
			if seqScanOf(plan, "transactions", "category_months", "account_months", "budgets") ||
				!indexedFromTheUser(plan, q) {
				t.Errorf("%s:\n%s\n\n%s", name, q.sql, text)
			}
			if testing.Verbose() {
				t.Logf("%s: %s", name, text)
			}
		}
		return
	}
	a := mustAccount(t, b, "Checking", "USD", 0)
	check := func(t *testing.T) {
		for name, q := range reportPlanQueries(b, a.ID) {
			lines := explain(t, db, q)
			plan := strings.Join(lines, "\n")
			if reportFullScan.MatchString(plan) || strings.Contains(plan, "TEMP B-TREE") || !readsFromTheUser(lines) {
				t.Errorf("%s:\n%s\n\n%s", name, q.sql, plan)
			}
			if testing.Verbose() {
				t.Logf("%s: %s", name, plan)
			}
		}
	}
	t.Run("empty", check)
	seed(t, db, b, 3000)
	other := newBook(t, db, newUser(t, db, "bob"))
	seed(t, db, other, 1000)
	for _, m := range []string{"2024-01", "2024-02", "2024-03"} {
		noErr(t, b.SetBudget(m, must[[]Category](t)(b.Categories())[3].ID, "USD", 100_00))
	}
	noErr(t, db.Exec("ANALYZE").Error)
	t.Run("analyzed", check)
}
