package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"tally/models"
	"tally/models/ledger"
)

// Rows of the register scenario's ledger: the ten years of a household, fewer in a
// -quick run so the CI smoke stays short (the demo writes about 3,500 rows a second).
const (
	ledgerRows      = 50_000
	ledgerRowsQuick = 5_000
)

// ledgerSeed is the user of the register and report scenarios and of the server-time samples,
// with a household's ledger from tally demo, and what the pages are asked for.
type ledgerSeed struct {
	index       int // benchUser(index): outside the users the login scenarios cycle through
	asked       int // tally demo --transactions
	took        time.Duration
	userRows    int // every row of the ledger: split parts and both legs of transfers included
	accountID   uint
	account     string
	accountRows int // the register's rows: the account's transactions, split parts not counted
	categoryID  uint
	category    string
	payee       string
	from, to    string // the last year of the account's rows
	currency    string // the register's account's, the budget's
	// The reports' default range, the last 12 months (YYYY-MM, this month last), and the
	// ledger's rows dated in it.
	reportFrom, month string
	reportRows        int
	// The categories given a budget amount for month before the budget page is measured (the
	// demo sets none): the commonest expense categories and the commonest income one.
	budgetCategories []budgetAmount
	budgeted         int // categories the month's budget shows with an amount, once set
}

// budgetAmount is one amount of the budget the bench sets, in the register account's currency.
type budgetAmount struct {
	categoryID uint
	amount     string
}

// seedLedger runs the built binary's tally demo for user index on the data dir, before the
// server starts (it is not measured), and finds the account holding most rows, the category
// most rows are in, the commonest payee, the last year of the account's rows, the rows in the
// reports' 12 months and the categories to budget.
func seedLedger(ctx context.Context, bin string, env []string, target string, index, rows int) (*ledgerSeed, error) {
	ls := &ledgerSeed{index: index, asked: rows}
	start := time.Now()
	// The demo's history and the server's reports both end with today's month (UTC here).
	today := start.UTC()
	ls.month = today.Format("2006-01")
	ls.reportFrom = time.Date(today.Year(), today.Month()-11, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	cmd := exec.CommandContext(ctx, bin, "demo", benchUser(index), "--transactions", strconv.Itoa(rows))
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tally demo: %w\n%s", err, out)
	}
	ls.took = time.Since(start)

	// Errors only: reading the whole ledger is slow SQL by design.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	db, err := models.Open(target, log)
	if err != nil {
		return nil, err
	}
	defer models.Close(db)
	u, err := models.FindUserByLogin(db, benchUser(index))
	if err != nil {
		return nil, err
	}
	b, err := ledger.For(db, u.ID)
	if err != nil {
		return nil, err
	}
	e, err := b.ExportAll()
	if err != nil {
		return nil, err
	}
	ls.userRows = len(e.Transactions)
	perAccount, perCategory, perPayee := map[uint]int{}, map[uint]int{}, map[string]int{}
	for _, t := range e.Transactions {
		if t.CategoryID != nil {
			perCategory[*t.CategoryID]++
		}
		if t.ParentID == nil {
			perAccount[t.AccountID]++
			perPayee[t.Payee]++
		}
	}
	ls.accountID, ls.accountRows = most(perAccount)
	ls.categoryID, _ = most(perCategory)
	ls.payee, _ = most(perPayee)
	for _, a := range e.Accounts {
		if a.ID == ls.accountID {
			ls.account, ls.currency = a.Name, a.Currency
		}
	}
	expense, income := map[uint]int{}, map[uint]int{}
	for _, c := range e.Categories {
		if c.ID == ls.categoryID {
			ls.category = c.Name
		}
		if n := perCategory[c.ID]; n > 0 && c.IsIncome {
			income[c.ID] = n
		} else if n > 0 {
			expense[c.ID] = n
		}
	}
	ls.budgetCategories = budgetAmounts(expense, income)
	for _, t := range e.Transactions {
		if t.AccountID == ls.accountID && t.Date > ls.to {
			ls.to = t.Date
		}
		if t.Date >= ls.reportFrom {
			ls.reportRows++
		}
	}
	if last, err := time.Parse(time.DateOnly, ls.to); err == nil {
		ls.from = last.AddDate(-1, 0, 1).Format(time.DateOnly)
	}
	if ls.accountRows == 0 || ls.categoryID == 0 || ls.payee == "" || len(income) == 0 {
		return nil, fmt.Errorf("tally demo gave %s %d rows: no account, category, payee or income to ask for", benchUser(index), ls.userRows)
	}
	return ls, nil
}

// budgetExpenses is how many expense categories get an amount.
const budgetExpenses = 5

// budgetAmounts are the amounts the bench sets: round ones (what is measured is the page, not
// the plan) for the commonest expense categories and the commonest income category.
func budgetAmounts(expense, income map[uint]int) []budgetAmount {
	var out []budgetAmount
	for range budgetExpenses {
		id, n := most(expense)
		if n <= 0 {
			break
		}
		delete(expense, id)
		out = append(out, budgetAmount{id, "400.00"})
	}
	if id, n := most(income); n > 0 {
		out = append(out, budgetAmount{id, "5000.00"})
	}
	return out
}

// most is the key with the highest count (the smallest key of equals, for a stable choice).
func most[K cmp.Ordered](counts map[K]int) (K, int) {
	var best K
	n := -1
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if counts[k] > n {
			best, n = k, counts[k]
		}
	}
	return best, max(n, 0)
}

func (ls *ledgerSeed) registerPath() string { return fmt.Sprintf("/accounts/%d", ls.accountID) }

// reportPath is the report scenario's page: spending by category per month, in its default
// range (the last 12 months), chart and table.
const reportPath = "/reports/spending"

func (ls *ledgerSeed) budgetPath() string {
	return "/budget?" + url.Values{"month": {ls.month}}.Encode()
}

// sampledPage is a page whose server time is sampled, and the bound on its p95.
type sampledPage struct {
	name, path string
	targetMs   float64
}

// sampledPages are the pages at real size: the register, the list of all transactions
// with a filter (by text, by category, by account and dates), the dashboard and this month's
// budget (5 ms each), and the three 12-month reports in their default range (10 ms each).
func (ls *ledgerSeed) sampledPages() []sampledPage {
	return []sampledPage{
		{"register", ls.registerPath(), 5},
		{"transactions by text", "/transactions?" + url.Values{"q": {ls.payee}}.Encode(), 5},
		{"transactions by category", fmt.Sprintf("/transactions?category_id=%d", ls.categoryID), 5},
		{"transactions by account and dates", "/transactions?" + url.Values{
			"account_id": {strconv.FormatUint(uint64(ls.accountID), 10)}, "from": {ls.from}, "to": {ls.to}}.Encode(), 5},
		{"dashboard", "/dashboard", 5},
		{"budget", ls.budgetPath(), 5},
		{"spending report", reportPath, 10},
		{"cash flow report", "/reports/cashflow", 10},
		{"net worth report", "/reports/networth", 10},
	}
}

// sampleRate is the rate at which server times are sampled: low enough that requests seldom
// overlap, so a server time is a request's own work and not a queue's.
const sampleRate = 100

// pageTimes is the server time of one page, sampled from its answers' Server-Timing.
type pageTimes struct {
	page sampledPage
	st   *runStats
}

// serverTimes reads each page at sampleRate for d (after a short unrecorded warm-up), signed in
// as the ledger's user, and keeps each answer's Server-Timing.
func serverTimes(ctx context.Context, srv *proc, o options, cookie string, pages []sampledPage) ([]pageTimes, error) {
	d := max(time.Second, o.dur/3)
	var out []pageTimes
	for _, p := range pages {
		tr := getTargeter(srv.base+p.path, cookie)
		warmUp(ctx, tr, srv.pid(), 1, 200*time.Millisecond)
		progress("server time: %s (%s) at %d req/s for %s", p.name, p.path, sampleRate, d)
		a, pacer := fixedRate(sampleRate, viewWorkers(o))
		st := attack(ctx, a, pacer, tr, d, newStats("time "+p.name, sampleRate), srv.pid(), is(200))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if st.ok > 0 && len(st.server) < st.ok {
			return nil, fmt.Errorf("%s: %d of %d answers carried no Server-Timing app;dur", p.path, st.ok-len(st.server), st.ok)
		}
		out = append(out, pageTimes{p, st})
	}
	return out, nil
}

// setBudgets gives the budget page of ls.month content to measure, as a user would: it reads
// the page for its form's CSRF token, posts each amount to POST /budget (303), then checks
// through GET /api/budget that the month shows every amount. Setup, not measured.
func setBudgets(base, cookie string, ls *ledgerSeed) error {
	page, err := signedInGet(base+ls.budgetPath(), cookie)
	if err != nil {
		return err
	}
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("GET %s: no form with a CSRF token", ls.budgetPath())
	}
	for _, b := range ls.budgetCategories {
		form := url.Values{"_csrf": {string(m[1])}, "month": {ls.month}, "category_id": {strconv.FormatUint(uint64(b.categoryID), 10)},
			"amount": {b.amount}, "currency": {ls.currency}}
		req, err := http.NewRequest(http.MethodPost, base+"/budget", strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", sessionCookie+"="+cookie)
		resp, err := plainClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return fmt.Errorf("POST /budget for category %d in %s: status %d, want 303", b.categoryID, ls.month, resp.StatusCode)
		}
	}
	body, err := signedInGet(base+"/api/budget?"+url.Values{"month": {ls.month}}.Encode(), cookie)
	if err != nil {
		return err
	}
	var month struct {
		Categories []struct {
			BudgetedMinor *int64 `json:"budgeted_minor"`
		} `json:"categories"`
	}
	if err := json.Unmarshal(body, &month); err != nil {
		return fmt.Errorf("GET /api/budget: %w", err)
	}
	ls.budgeted = 0
	for _, c := range month.Categories {
		if c.BudgetedMinor != nil {
			ls.budgeted++
		}
	}
	if ls.budgeted != len(ls.budgetCategories) {
		return fmt.Errorf("GET /api/budget?month=%s: %d categories with an amount, want the %d set", ls.month, ls.budgeted, len(ls.budgetCategories))
	}
	return nil
}

// signedInGet reads a page with the session cookie; anything but 200 is an error.
func signedInGet(u, cookie string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cookie", sessionCookie+"="+cookie)
	resp, err := plainClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return body, nil
}
