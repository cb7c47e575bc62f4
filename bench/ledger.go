package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// ledgerSeed is the user of the register scenario and of the server-time samples, with a
// household's ledger from tally demo, and what the pages are asked for.
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
}

// seedLedger runs the built binary's tally demo for user index on the data dir, before the
// server starts (it is not measured), and finds the account holding most rows, the category
// most rows are in, the commonest payee and the last year of the account's rows.
func seedLedger(ctx context.Context, bin string, env []string, dataDir string, index, rows int) (*ledgerSeed, error) {
	ls := &ledgerSeed{index: index, asked: rows}
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin, "demo", benchUser(index), "--transactions", strconv.Itoa(rows))
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("tally demo: %w\n%s", err, out)
	}
	ls.took = time.Since(start)

	// Errors only: reading the whole ledger is slow SQL by design.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	db, err := models.Open(filepath.Join(dataDir, "tally.db"), log)
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
			ls.account = a.Name
		}
	}
	for _, c := range e.Categories {
		if c.ID == ls.categoryID {
			ls.category = c.Name
		}
	}
	for _, t := range e.Transactions {
		if t.AccountID == ls.accountID && t.Date > ls.to {
			ls.to = t.Date
		}
	}
	if last, err := time.Parse(time.DateOnly, ls.to); err == nil {
		ls.from = last.AddDate(-1, 0, 1).Format(time.DateOnly)
	}
	if ls.accountRows == 0 || ls.categoryID == 0 || ls.payee == "" {
		return nil, fmt.Errorf("tally demo gave %s %d rows: no account, category or payee to ask for", benchUser(index), ls.userRows)
	}
	return ls, nil
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

// sampledPage is a page whose server time is sampled.
type sampledPage struct{ name, path string }

// sampledPages are the pages at real size: the register, the list of all transactions
// with a filter (by text, by category, by account and dates) and the dashboard.
func (ls *ledgerSeed) sampledPages() []sampledPage {
	return []sampledPage{
		{"register", ls.registerPath()},
		{"transactions by text", "/transactions?" + url.Values{"q": {ls.payee}}.Encode()},
		{"transactions by category", fmt.Sprintf("/transactions?category_id=%d", ls.categoryID)},
		{"transactions by account and dates", "/transactions?" + url.Values{
			"account_id": {strconv.FormatUint(uint64(ls.accountID), 10)}, "from": {ls.from}, "to": {ls.to}}.Encode()},
		{"dashboard", "/dashboard"},
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
