package ledger

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"tally/testkit/testdb"

	"gorm.io/gorm"
)

// planQueries are the pages' queries, built by the functions the book runs.
func planQueries(b *Book, accountID, categoryID uint) map[string]query {
	c := &cursor{"2024-05-10", 1234}
	amount := int64(-100)
	qs := map[string]query{
		"register first page": b.registerQuery(accountID, nil, 50),
		"register next page":  b.registerQuery(accountID, c, 50),
		"dashboard recent":    b.recentQuery(10),
	}
	q, args := b.accountsQuery(false)
	qs["dashboard accounts"] = query{q, args}
	q, args = b.accountsQuery(true)
	qs["accounts with closed"] = query{q, args}
	for name, f := range map[string]Filter{
		"all":                     {},
		"account":                 {AccountID: accountID},
		"category":                {CategoryID: categoryID},
		"dates":                   {From: "2024-01-01", To: "2024-12-31"},
		"text":                    {Text: "shop"},
		"amounts":                 {MinAmount: &amount, MaxAmount: &amount},
		"account and dates":       {AccountID: accountID, From: "2024-01-01", To: "2024-12-31"},
		"category and account":    {CategoryID: categoryID, AccountID: accountID},
		"everything":              {AccountID: accountID, CategoryID: categoryID, From: "2024-01-01", To: "2024-12-31", Text: "x", MinAmount: &amount, MaxAmount: &amount},
		"everything but category": {AccountID: accountID, From: "2024-01-01", To: "2024-12-31", Text: "x", MinAmount: &amount, MaxAmount: &amount},
		"no category":             {Uncategorized: true},
		"no category and dates":   {Uncategorized: true, From: "2024-01-01", To: "2024-12-31", Currency: "USD"},
		"income":                  {Flow: FlowIncome},
		"expense":                 {Flow: FlowExpense, MinAmount: &amount},
		"net":                     {Flow: FlowNet, From: "2024-01-01", To: "2024-12-31"},
		"currency":                {Currency: "EUR"},
		"currency and dates":      {Currency: "EUR", To: "2024-12-31"},
		"to only":                 {To: "2024-12-31"},
		"flow and account":        {Flow: FlowExpense, AccountID: accountID, From: "2024-01-01"},
		"flow and category":       {Flow: FlowIncome, CategoryID: categoryID},
		"flow and currency":       {Flow: FlowIncome, Currency: "USD", From: "2024-01-01", To: "2024-01-31"},
		"every report filter":     {Flow: FlowExpense, Uncategorized: true, Currency: "USD", AccountID: accountID, From: "2024-01-01", To: "2024-12-31", Text: "x", MinAmount: &amount, MaxAmount: &amount},
	} {
		qs["transactions "+name] = b.listQuery(f, nil, 50, false)
		qs["transactions "+name+", next page"] = b.listQuery(f, c, 50, false)
	}
	return qs
}

var fullScan = regexp.MustCompile(`\bSCAN (transactions|t|m|o|c|s|accounts|a|account_months)\b`)

func explain(t testing.TB, db *gorm.DB, q query) []string {
	t.Helper()
	var plan []struct{ Detail string }
	noErr(t, db.Raw("EXPLAIN QUERY PLAN "+q.sql, q.args...).Scan(&plan).Error)
	lines := make([]string, len(plan))
	for i, p := range plan {
		lines[i] = p.Detail
	}
	return lines
}

// TestQueryPlans asserts that the register, the filtered list and the dashboard read by index:
// no full scan of a table, no sort of the rows for ORDER BY. It plans on an empty database and
// again after ANALYZE of a filled one, where statistics could tempt the planner elsewhere.
func TestQueryPlans(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	if testdb.Postgres() {
		s := seedRealistic(t, db, b, 10_000)
		c := must[[]Category](t)(b.Categories())[3]
		// The pages that walk one index in order, newest first, whatever the data.
		checkPostgresPlans(t, db, planQueries(b, s.checking, c.ID), map[string]string{
			"register first page": "transactions_register", "register next page": "transactions_register",
			"dashboard recent": "transactions_date", "transactions all": "transactions_date",
			"transactions all, next page": "transactions_date", "transactions account": "transactions_register",
		})
		return
	}
	noErr(t, b.SeedDefaults())
	a := mustAccount(t, b, "Checking", "USD", 0)
	c := must[[]Category](t)(b.Categories())[3]

	check := func(t *testing.T) {
		for name, q := range planQueries(b, a.ID, c.ID) {
			plan := explain(t, db, q)
			text := strings.Join(plan, "\n")
			if fullScan.MatchString(text) || strings.Contains(text, "TEMP B-TREE") {
				t.Errorf("%s:\n%s\n\n%s", name, q.sql, text)
			}
			if testing.Verbose() {
				fmt.Printf("%s:\n  %s\n", name, strings.Join(plan, "\n  "))
			}
		}
	}
	t.Run("empty", check)
	seed(t, db, b, 2000)
	noErr(t, db.Exec("ANALYZE").Error)
	t.Run("analyzed", check)
}

// TestTextSearchPlan: a search for a rare text starts from the trigram index and looks the
// matching rows up by id; it sorts them (at most textCandidates), so it is the one list query
// allowed a temporary B-tree.
func TestTextSearchPlan(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	amount := int64(-5)
	if testdb.Postgres() {
		// A rare text reads the trigram index (a bitmap of its matches), never the table; with
		// an account and a year the planner may rather read that stretch of the register.
		seedRealistic(t, db, b, 10_000)
		for _, f := range []Filter{{Text: "bakery"}, {Text: "bakery", AccountID: 1, From: "2024-01-01", MinAmount: &amount},
			{Text: "bakery", Flow: FlowExpense, Currency: "USD", MinAmount: &amount}} {
			for _, c := range []*cursor{nil, {"2024-05-10", 1234}} {
				plan := explainPostgres(t, db, b.listQuery(f, c, 50, true))
				text := strings.Join(plan, "\n")
				trigram := strings.Contains(text, "Bitmap Index Scan using transactions_text")
				if (!trigram && f.AccountID == 0) || seqScanOf(plan, "transactions") {
					t.Errorf("%+v: plan\n%s", f, text)
				}
			}
		}
		return
	}
	for _, f := range []Filter{{Text: "bakery"}, {Text: "bakery", AccountID: 1, From: "2024-01-01", MinAmount: &amount},
		{Text: "bakery", Flow: FlowExpense, Currency: "USD", MinAmount: &amount}} {
		for _, c := range []*cursor{nil, {"2024-05-10", 1234}} {
			plan := strings.Join(explain(t, db, b.listQuery(f, c, 50, true)), "\n")
			if !strings.Contains(plan, "SCAN transactions_text VIRTUAL TABLE") ||
				!strings.Contains(plan, "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)") || fullScan.MatchString(plan) {
				t.Errorf("%+v: plan\n%s", f, plan)
			}
		}
	}
}
