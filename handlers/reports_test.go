package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"tally/models/ledger"
	"tally/money"
	"tally/testkit/testdb"
)

// reportFixture is budgetFixture with more months and currencies: two EUR accounts with their
// own spending, income, a split of income and spending, rows without a category and an opening
// balance, transfers within and across currencies, a card, a wallet with an opening balance,
// and rows before the range.
type reportFixture struct {
	*budgetFixture
	euro, euroCash, card, wallet uint
	openings                     map[uint]bool // the opening balances' row ids
}

func newReportFixture(t *testing.T, ta *testApp, name string) *reportFixture {
	t.Helper()
	f := &reportFixture{budgetFixture: newBudgetFixture(t, ta, name), openings: map[uint]bool{}}
	f.euro = f.account("Euro", "EUR", "")
	f.card = f.account("Card", "USD", "")
	f.wallet = f.account("Wallet", "USD", "20.00")
	f.euroCash = f.account("Euro cash", "EUR", "15.00")
	c := f.cat
	for _, in := range []ledger.TxInput{
		{AccountID: f.checking, Date: "2025-11-30", Payee: "Old", Amount: -9_99, CategoryID: c["Groceries"]}, // before the range
		{AccountID: f.checking, Date: "2025-12-01", Payee: "Work", Amount: 2900_00, CategoryID: c["Salary"]},
		{AccountID: f.card, Date: "2026-01-15", Payee: "Garage", Amount: -321_45, CategoryID: c["Car"]},
		{AccountID: f.card, Date: "2026-03-31", Payee: "Shop", Amount: -12_34, Splits: []ledger.SplitInput{
			{CategoryID: c["Groceries"], Amount: -10_00}, {CategoryID: c["Gifts"], Amount: -2_34}}},
		{AccountID: f.checking, Date: "2026-04-01", Amount: -300_00, TransferAccountID: f.card},
		{AccountID: f.euro, Date: "2026-06-10", Payee: "Bistro", Amount: -45_50, CategoryID: c["Eating out"]},
		{AccountID: f.euro, Date: "2026-06-11", Payee: "Bistro", Amount: 5_50, CategoryID: c["Eating out"]},
		{AccountID: f.euro, Date: "2026-07-01", Payee: "Client", Amount: 800_00, CategoryID: c["Other income"]},
		{AccountID: f.checking, Date: "2026-07-02", Amount: -110_00, TransferAccountID: f.euro, TransferAmount: 100_00},
		{AccountID: f.wallet, Date: "2026-11-12", Payee: "Kiosk", Amount: -3_20},
		{AccountID: f.wallet, Date: "2026-11-13", Payee: "Found", Amount: 1_00, CategoryID: c["Gifts"]},
		{AccountID: f.euroCash, Date: "2026-08-03", Payee: "Flea market", Amount: -12_00},
		{AccountID: f.euroCash, Date: "2026-08-04", Payee: "Tips", Amount: 40_00, CategoryID: c["Other income"]},
		{AccountID: f.euroCash, Date: "2026-08-05", Payee: "Market", Amount: -25_00, Splits: []ledger.SplitInput{
			{CategoryID: c["Groceries"], Amount: -30_00}, {CategoryID: c["Other income"], Amount: 5_00}}},
		{AccountID: f.euro, Date: "2026-08-06", Amount: -50_00, TransferAccountID: f.euroCash},
	} {
		f.add(in)
	}
	for _, account := range []uint{f.checking, f.savings, f.euro, f.euroCash, f.card, f.wallet} {
		p, err := f.book().Register(account, "", ledger.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			if r.IsOpening {
				f.openings[r.ID] = true
			}
		}
	}
	return f
}

// apiRows is every transaction of the API's list for a query, following its pages.
func (f *reportFixture) apiRows(query url.Values) []apiTransaction {
	f.t.Helper()
	var out []apiTransaction
	q := cloneValues(query)
	q.Set("limit", "500")
	for {
		var page apiTransactionPage
		f.getJSON("/api/transactions?"+q.Encode(), &page)
		out = append(out, page.Items...)
		if page.NextCursor == nil {
			return out
		}
		q.Set("cursor", *page.NextCursor)
	}
}

func (f *reportFixture) getJSON(path string, v any) {
	f.t.Helper()
	res := f.get(path)
	wantStatus(f.t, res, http.StatusOK)
	if err := json.Unmarshal([]byte(res.body), v); err != nil {
		f.t.Fatalf("%s: %v", path, err)
	}
}

// currencies maps account ids to their currencies, from the API.
func (f *reportFixture) currencies() map[uint]string {
	var accounts []apiAccount
	f.getJSON("/api/accounts", &accounts)
	out := map[uint]string{}
	for _, a := range accounts {
		out[a.ID] = a.Currency
	}
	return out
}

// flows are the report rows of the API's transactions as the rules say: a split's parts, never
// the split; no transfer; no opening balance. Each is category, currency, month and amount.
type flow struct {
	category uint
	currency string
	month    string
	amount   int64
}

func (f *reportFixture) flows(rows []apiTransaction) []flow {
	codes := f.currencies()
	var out []flow
	for _, r := range rows {
		if r.TransferAccountID != nil || f.openings[r.ID] {
			continue
		}
		code, month := codes[r.AccountID], r.Date[:7]
		if len(r.Splits) > 0 {
			for _, s := range r.Splits {
				out = append(out, flow{s.CategoryID, code, month, s.AmountMinor})
			}
			continue
		}
		var cat uint
		if r.CategoryID != nil {
			cat = *r.CategoryID
		}
		out = append(out, flow{cat, code, month, r.AmountMinor})
	}
	return out
}

// TestReportsEqualTheRows compares every cell of the three reports' API (and the spending page's
// table) with sums made here from the rows /api/transactions lists, for all accounts and each.
func TestReportsEqualTheRows(t *testing.T) {
	ta := newTestApp(t)
	f := newReportFixture(t, ta, "ada")
	newReportFixture(t, ta, "bob")
	income := map[uint]bool{f.cat["Salary"]: true, f.cat["Other income"]: true}
	const from, to = "2025-12", "2026-11"
	months := ledger.Months(from, to)

	for _, account := range []uint{0, f.checking, f.euro, f.euroCash, f.card, f.wallet} {
		t.Run("account "+ids(account), func(t *testing.T) {
			query, filter := url.Values{}, url.Values{"from": {from}, "to": {to}}
			if account != 0 {
				query.Set("account_id", ids(account))
				filter.Set("account_id", ids(account))
			}
			rows := f.apiRows(query)
			wantSpending := map[string]int64{}
			type cash struct{ income, expense, net int64 }
			wantCash := map[string]*cash{}
			for _, fl := range f.flows(rows) {
				if fl.month < from || fl.month > to {
					continue
				}
				key := fl.currency + " " + fl.month
				if wantCash[key] == nil {
					wantCash[key] = &cash{}
				}
				c := wantCash[key]
				c.net += fl.amount
				if income[fl.category] {
					c.income += fl.amount
					continue
				}
				c.expense -= fl.amount
				wantSpending[fmt.Sprintf("%d %s", fl.category, key)] -= fl.amount
			}

			var spending apiReport
			f.getJSON("/api/reports/spending?"+filter.Encode(), &spending)
			if !reflect.DeepEqual(spending.Months, months) {
				t.Fatalf("months %v", spending.Months)
			}
			gotSpending := map[string]int64{}
			for _, s := range spending.Series {
				var cat uint
				if s.CategoryID != nil {
					cat = *s.CategoryID
				}
				for _, p := range s.Points {
					if *p.AmountMinor != 0 {
						gotSpending[fmt.Sprintf("%d %s %s", cat, s.Currency, p.Month)] = *p.AmountMinor
					}
					if want := money.FormatMachine(*p.AmountMinor, currency(s.Currency)); *p.Amount != want {
						t.Errorf("amount %q for %d minor units", *p.Amount, *p.AmountMinor)
					}
				}
			}
			for k, v := range wantSpending {
				if v == 0 {
					delete(wantSpending, k)
				}
			}
			if !reflect.DeepEqual(gotSpending, wantSpending) {
				t.Errorf("spending\n%v\nrows\n%v", gotSpending, wantSpending)
			}

			var cashflow apiReport
			f.getJSON("/api/reports/cashflow?"+filter.Encode(), &cashflow)
			for _, s := range cashflow.Series {
				for _, p := range s.Points {
					want := wantCash[s.Currency+" "+p.Month]
					if want == nil {
						want = &cash{}
					}
					if *p.IncomeMinor != want.income || *p.ExpenseMinor != want.expense || *p.NetMinor != want.net {
						t.Errorf("cash flow %s %s: %s in, %s out, %s net; rows say %+v", s.Currency, p.Month, *p.Income, *p.Expense, *p.Net, *want)
					}
				}
			}

			var networth apiReport
			f.getJSON("/api/reports/networth?"+filter.Encode(), &networth)
			codes := f.currencies()
			for _, s := range networth.Series {
				for _, p := range s.Points {
					var want int64 // every row of the currency's accounts up to the month's end
					for _, r := range rows {
						if codes[r.AccountID] == s.Currency && r.Date[:7] <= p.Month {
							want += r.AmountMinor
						}
					}
					if *p.BalanceMinor != want {
						t.Errorf("net worth %s at the end of %s: %s, rows say %d", s.Currency, p.Month, *p.Balance, want)
					}
				}
			}

			// The spending page's tables hold the same numbers as the API.
			page := f.get("/reports/spending?" + filter.Encode())
			wantStatus(t, page, http.StatusOK)
			for _, s := range spending.Series {
				name := "No category"
				if s.CategoryID != nil {
					c, err := f.book().Category(*s.CategoryID)
					if err != nil {
						t.Fatal(err)
					}
					name = c.Group + ": " + c.Name
				}
				row := tableRow(page.doc.Find("#report-spending-"+s.Currency+" table"), name)
				for i, p := range s.Points {
					if got := strings.ReplaceAll(row[i], ",", ""); got != *p.Amount {
						t.Errorf("page shows %s %s %s as %q, API %q", name, s.Currency, p.Month, row[i], *p.Amount)
					}
				}
			}
		})
	}
}

// tableRow is the cells' text of the row headed head.
func tableRow(table *goquery.Selection, head string) []string {
	var cells []string
	table.Find("tbody tr").Each(func(_ int, tr *goquery.Selection) {
		if strings.TrimSpace(tr.Find("th").Text()) == head {
			tr.Find("td").Each(func(_ int, td *goquery.Selection) { cells = append(cells, strings.TrimSpace(td.Text())) })
		}
	})
	return cells
}

var (
	markTitle = regexp.MustCompile(`: (-?[0-9,.]+) ([A-Z]{3})$`)
	// planned marks are a budget's amounts: no transaction is behind them.
	planned = regexp.MustCompile(`, (budgeted|expected): `)
)

// TestReportLinksNameExactlyTheirRows follows every chart mark's link (and every table cell's)
// the way the transaction list reads it (through /api/transactions, which takes the same
// filter) and sums what it lists as the report counts it: the result is the mark's value, and
// every row listed counts toward it. Every mark but a budget's planned amounts has a link.
func TestReportLinksNameExactlyTheirRows(t *testing.T) {
	ta := newTestApp(t)
	f := newReportFixture(t, ta, "ada")
	newReportFixture(t, ta, "bob")
	cats, err := f.book().Categories()
	if err != nil {
		t.Fatal(err)
	}
	income := map[uint]bool{}
	for _, c := range cats {
		income[c.ID] = c.IsIncome
	}
	// sumOf is what the rows a link lists add up to as its mark counts them.
	sumOf := func(t *testing.T, href string) int64 {
		q, err := url.ParseQuery(strings.TrimPrefix(href, "/transactions?"))
		if err != nil || !strings.HasPrefix(href, "/transactions?") {
			t.Fatalf("link %q", href)
		}
		rows := f.apiRows(q)
		cat, flow, none := q.Get("category_id"), q.Get("flow"), q.Get("uncategorized") == "1"
		var got int64
		if cat == "" && flow == "" && !none { // a balance: every row
			for _, r := range rows {
				got += r.AmountMinor
			}
			return got
		}
		for _, r := range rows {
			counted := false
			for _, fl := range f.flows([]apiTransaction{r}) {
				if (cat != "" && ids(fl.category) != cat) || (none && fl.category != 0) ||
					(flow == ledger.FlowIncome && !income[fl.category]) || (flow == ledger.FlowExpense && income[fl.category]) {
					continue
				}
				got += fl.amount
				counted = true
			}
			if !counted {
				t.Errorf("%s lists row %d (%s %s), which its mark does not count", href, r.ID, r.Date, r.Payee)
			}
		}
		if flow == ledger.FlowExpense || none { // spending: money out counts positive
			got = -got
		}
		return got
	}
	value := func(t *testing.T, text, code string) int64 {
		v, err := money.ParseMachine(strings.ReplaceAll(text, ",", ""), currency(code))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var paths []string
	for _, kind := range []string{"spending", "cashflow", "networth", "budget"} {
		for _, account := range []uint{0, f.checking, f.euroCash} {
			p := "/reports/" + kind + "?range=12m"
			if account != 0 {
				p += "&account_id=" + ids(account)
			}
			paths = append(paths, p)
		}
	}
	paths = append(paths, "/reports/budget?from=2026-08&to=2026-08", "/reports/cashflow?range=all")
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			page := f.get(path)
			wantStatus(t, page, http.StatusOK)
			marks := page.doc.Find("svg .chart-bar, svg .chart-dot")
			if marks.Length() == 0 {
				t.Fatal("no marks")
			}
			linked := 0
			marks.Each(func(_ int, mark *goquery.Selection) {
				title := strings.TrimSpace(mark.Find("title").Text())
				m := markTitle.FindStringSubmatch(title)
				if m == nil {
					t.Errorf("mark %q", title)
					return
				}
				href, ok := mark.Parent().Filter("a").Attr("href")
				if planned.MatchString(title) {
					if ok {
						t.Errorf("planned mark %q links to %q", title, href)
					}
					return
				}
				if !ok {
					t.Errorf("mark %q has no link", title)
					return
				}
				linked++
				if got, want := sumOf(t, href), value(t, m[1], m[2]); got != want {
					t.Errorf("mark %q links to %s, whose rows sum to %d", title, href, got)
				}
			})
			if linked == 0 {
				t.Error("no linked marks")
			}
			// The tables' linked cells too (totals over the range among them).
			cells := 0
			page.doc.Find("section.report-chart").Each(func(_ int, chart *goquery.Selection) {
				id := chart.AttrOr("id", "")
				code := id[len(id)-3:]
				chart.Find("table td a[href]").Each(func(_ int, a *goquery.Selection) {
					cells++
					href, _ := a.Attr("href")
					if got, want := sumOf(t, href), value(t, strings.TrimSpace(a.Text()), code); got != want {
						t.Errorf("cell %q links to %s, whose rows sum to %d", a.Text(), href, got)
					}
				})
			})
			if cells == 0 {
				t.Error("no linked cells")
			}
		})
	}
}

func TestReportRangesAndFilters(t *testing.T) {
	ta := newTestApp(t)
	f := newReportFixture(t, ta, "ada")
	bob := newReportFixture(t, ta, "bob")
	value := func(res *response, id string) string {
		v, _ := res.doc.Find("#" + id).Attr("value")
		return v
	}
	for _, tc := range []struct{ path, from, to, current string }{
		{"/reports", "2025-12", "2026-11", "Last 12 months"},
		{"/reports/cashflow?range=this-year", "2026-01", "2026-11", "This year"},
		{"/reports/networth?range=last-year", "2025-01", "2025-12", "Last year"},
		{"/reports/spending?range=all", "2025-11", "2026-11", "All"},
		{"/reports/spending?range=all&account_id=" + ids(f.euro), "2026-06", "2026-11", "All"},
		{"/reports/budget", "2026-11", "2026-11", "This month"},
		{"/reports/spending?from=2026-02&to=2026-04", "2026-02", "2026-04", ""},
		{"/reports/spending?to=2026-04", "2025-05", "2026-04", ""},
	} {
		res := f.get(tc.path)
		wantStatus(t, res, http.StatusOK)
		if from, to := value(res, "report-from"), value(res, "report-to"); from != tc.from || to != tc.to {
			t.Errorf("%s: %s to %s, want %s to %s", tc.path, from, to, tc.from, tc.to)
		}
		if got := text(res, `.presets [aria-current="true"]`); got != tc.current {
			t.Errorf("%s: preset %q is current, want %q", tc.path, got, tc.current)
		}
		if res.doc.Find(`.report-tabs [aria-current="page"]`).Length() != 1 {
			t.Errorf("%s: no current tab", tc.path)
		}
	}
	// Tabs and presets keep the account.
	res := f.get("/reports/spending?range=12m&account_id=" + ids(f.card))
	res.doc.Find(".report-tabs a, .presets a").Each(func(_ int, a *goquery.Selection) {
		if href, _ := a.Attr("href"); !strings.Contains(href, "account_id="+ids(f.card)) {
			t.Errorf("%q loses the account", href)
		}
	})
	if n := res.doc.Find("#report-spending-EUR").Length(); n != 0 {
		t.Error("the card's report shows EUR")
	}
	for _, tc := range []struct{ path, field string }{
		{"/reports/spending?from=2026-13&to=2026-12", "#report-from-error"},
		{"/reports/spending?from=2026-05&to=2026-04", "#report-to-error"},
		{"/reports/spending?from=1900-01&to=2026-04", "#report-from-error"},
		{"/reports/spending?range=forever", "#report-from-error"},
		{"/reports/spending?account_id=" + ids(bob.checking), "#report-account-error"},
		{"/reports/spending?account_id=x", "#report-account-error"},
	} {
		res := f.get(tc.path)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if text(res, tc.field) == "" {
			t.Errorf("%s: no message at %s", tc.path, tc.field)
		}
		if strings.Contains(res.body, "Bob") || res.doc.Find("svg").Length() != 0 {
			t.Errorf("%s: a report was drawn", tc.path)
		}
	}
	wantStatus(t, f.get("/reports/other"), http.StatusNotFound)

	for _, tc := range []struct {
		path   string
		status int
		prefix string
	}{
		{"/api/reports/spending?from=2026-13", http.StatusBadRequest, "from: "},
		{"/api/reports/cashflow?from=2026-05&to=2026-04", http.StatusBadRequest, "to: "},
		{"/api/reports/networth?account_id=" + ids(bob.checking), http.StatusNotFound, "account_id: "},
		{"/api/reports/spending?account_id=-1", http.StatusBadRequest, "account_id: "},
		{"/api/reports/budget", http.StatusNotFound, ""},
		{"/api/budget?month=2026", http.StatusBadRequest, "month: "},
	} {
		res := f.get(tc.path)
		wantStatus(t, res, tc.status)
		var body struct{ Error string }
		if err := json.Unmarshal([]byte(res.body), &body); err != nil || !strings.HasPrefix(body.Error, tc.prefix) {
			t.Errorf("%s: %s", tc.path, res.body)
		}
	}
	// Signed out: the API answers 401, the pages send to the login.
	anon := ta.client()
	wantStatus(t, anon.get("/api/reports/spending"), http.StatusUnauthorized)
	if res := anon.get("/reports"); res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		t.Errorf("anonymous /reports: %d", res.StatusCode)
	}
}

func TestBudgetAPI(t *testing.T) {
	ta := newTestApp(t)
	f := newBudgetFixture(t, ta, "ada")
	f.setBudget("2026-11", "Groceries", 60_00)
	f.setBudget("2026-11", "Rent or mortgage", 0)
	var got apiBudget
	res := f.get("/api/budget?month=2026-11")
	wantStatus(t, res, http.StatusOK)
	if err := json.Unmarshal([]byte(res.body), &got); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]apiBudgetCategory{}
	for _, c := range got.Categories {
		key := "none"
		if c.CategoryID != nil {
			key = ids(*c.CategoryID)
		}
		byKey[key+" "+c.Currency] = c
	}
	for _, tc := range []struct {
		key             string
		budgeted        string // "" for null
		spent           string
		spentMinor      int64
		isIncome, found bool
	}{
		{ids(f.cat["Groceries"]) + " USD", "60.00", "65.00", 65_00, false, true},
		{ids(f.cat["Rent or mortgage"]) + " USD", "0.00", "0.00", 0, false, true},
		{ids(f.cat["Eating out"]) + " USD", "", "10.00", 10_00, false, true},
		{ids(f.cat["Salary"]) + " USD", "", "-3000.00", -3000_00, true, true},
		{"none USD", "", "7.00", 7_00, false, true},
		{ids(f.cat["Car"]) + " USD", "", "", 0, false, false},
	} {
		c, ok := byKey[tc.key]
		if ok != tc.found {
			t.Errorf("%s listed %v", tc.key, ok)
			continue
		}
		if !ok {
			continue
		}
		budgeted := ""
		if c.Budgeted != nil {
			budgeted = *c.Budgeted
			if want, _ := money.ParseMachine(budgeted, currency("USD")); c.BudgetedMinor == nil || *c.BudgetedMinor != want {
				t.Errorf("%s budgeted %q but %v minor units", tc.key, budgeted, c.BudgetedMinor)
			}
		}
		if budgeted != tc.budgeted || c.Spent != tc.spent || c.SpentMinor != tc.spentMinor || c.IsIncome != tc.isIncome {
			t.Errorf("%s: %+v", tc.key, c)
		}
	}
	if got.Month != "2026-11" {
		t.Errorf("month %q", got.Month)
	}
	var current apiBudget
	f.getJSONOf("/api/budget", &current)
	if current.Month != "2026-11" {
		t.Errorf("the current month is %q", current.Month)
	}
}

func (f *budgetFixture) getJSONOf(path string, v any) {
	f.t.Helper()
	res := f.get(path)
	wantStatus(f.t, res, http.StatusOK)
	if err := json.Unmarshal([]byte(res.body), v); err != nil {
		f.t.Fatal(err)
	}
}

// TestReportPagesReadTwoStatements: a view of the budget, a report or their JSON, while the
// ledger has not changed, reads the ledger version and its numbers in one statement each (on
// Postgres only the numbers: the version is known without asking), and nothing else (the accounts, categories and number format are the ledger cache's): on Postgres
// every statement is a round trip to another process.
func TestReportPagesReadTwoStatements(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	if _, errOut, err := ta.runCLI("", nil, "demo", "ada", "--transactions", "300"); err != nil {
		t.Fatal(err, errOut)
	}
	month := ta.clock.Now().Format("2006-01")
	for _, path := range []string{"/budget?month=" + month, "/reports/spending?range=12m", "/reports/cashflow?range=12m",
		"/reports/networth?range=12m", "/reports/budget?range=12m", "/api/budget?month=" + month, "/api/reports/spending"} {
		t.Run(path, func(t *testing.T) {
			c.get(path) // keeps the ledger's lists for its version
			var res *response
			stmts := ta.statements(t, func() { res = c.get(path) })
			want := 2
			if testdb.Postgres() {
				want = 1 // the version is known without asking (see ledgerVersions)
			}
			if res.StatusCode != http.StatusOK || len(stmts) != want {
				t.Errorf("status %d, %d statements:\n%s", res.StatusCode, len(stmts), strings.Join(stmts, "\n"))
			}
		})
	}
}
