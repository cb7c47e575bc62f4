package e2e

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tally/models/ledger"
)

// ledgerWait bounds one wait for the page to change after an action, so a change that never
// comes fails its step with a message instead of eating the whole test's time.
const ledgerWait = 5 * time.Second

// ledgerWatcher runs in every document beside htmxWatcher. It lists the id of every element an
// htmx swap has settled into, and the path of every request answered (htmx:afterRequest comes
// after a swap without delay), so a test can wait for one request (the category suggestion)
// while others (the payee suggestions) come and go.
const ledgerWatcher = `window.__swapped = [];
window.__answered = [];
document.addEventListener('htmx:afterSettle', e => {
	const t = e.detail && e.detail.target;
	window.__swapped.push(t && t.id ? t.id : '');
});
document.addEventListener('htmx:afterRequest', e => {
	window.__answered.push(e.detail && e.detail.pathInfo ? e.detail.pathInfo.requestPath : '');
});`

// ledgerRowsJS reads the transaction rows (tr#tx-ID) of the tbody that the selector in its
// one argument names, as the page shows them.
const ledgerRowsJS = `sel => [...document.querySelectorAll(sel + ' > tr')].filter(tr => /^tx-\d+$/.test(tr.id)).map(tr => {
	const squash = s => s.replace(/\s+/g, ' ').trim();
	const text = el => el ? squash(el.textContent) : '';
	const cell = label => tr.querySelector(':scope > td[data-label="' + label + '"]');
	const cat = cell('Category');
	const own = cat ? [...cat.childNodes].filter(n => n.nodeType === Node.TEXT_NODE ||
		(n.classList && n.classList.contains('transfer-label'))).map(n => n.textContent).join('') : '';
	return {id: Number(tr.id.slice(3)), date: text(cell('Date')), payee: text(tr.querySelector('.payee')),
		category: squash(own), memo: text(cell('Memo')), amount: text(cell('Amount')),
		balance: text(cell('Balance')), splits: [...tr.querySelectorAll('ul.splits > li')].map(li =>
			[li.querySelector('.part-name, span:first-child'), li.querySelector('.money'), li.querySelector('.muted')]
				.map(text).filter(s => s !== '').join(' '))};
})`

// ledgerRow is one transaction row as the page shows it.
type ledgerRow struct {
	ID       uint     `json:"id"`
	Date     string   `json:"date"`
	Payee    string   `json:"payee"`
	Category string   `json:"category"` // the category, "Split", "Transfer: <account>" or ""
	Memo     string   `json:"memo"`
	Amount   string   `json:"amount"`
	Balance  string   `json:"balance"` // the register's running balance ("" in the list)
	Splits   []string `json:"splits"`  // "<category> <amount> <memo>" per part
}

func (r ledgerRow) String() string {
	return fmt.Sprintf("#%d %s %q %q %q %s bal %s %q", r.ID, r.Date, r.Payee, r.Category, r.Memo, r.Amount, r.Balance, r.Splits)
}

// startLedger starts the app with ada, who may sign in, and returns her book for seeding rows
// directly. Seed before ledgerBrowser: the browser's time limit starts with the browser.
func startLedger(t *testing.T) (*env, *ledger.Book) {
	t.Helper()
	e := startApp(t)
	u := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	b, err := ledger.For(e.db, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return e, b
}

// ledgerBrowser starts a browser whose documents run the CSP listener and the htmx watchers,
// and signs ada in.
func ledgerBrowser(t *testing.T, e *env) context.Context {
	t.Helper()
	ctx := newBrowser(t)
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	addPageScript(t, ctx, ledgerWatcher)
	logIn(t, e, ctx, "ada", "Ada")
	return ctx
}

// seedAccount adds a USD checking account with an opening balance (minor units) dated
// 2026-01-01, and the default categories.
func seedAccount(t *testing.T, b *ledger.Book, name string, opening int64) uint {
	t.Helper()
	a, err := b.CreateAccount(ledger.AccountInput{Name: name, Kind: "checking", Currency: "USD",
		OpeningBalance: opening, OpeningDate: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SeedDefaults(); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func seedTx(t *testing.T, b *ledger.Book, in ledger.TxInput) uint {
	t.Helper()
	r, err := b.AddTransaction(in)
	if err != nil {
		t.Fatalf("seed %+v: %v", in, err)
	}
	return r.ID
}

// categoryID is the id of the user's category called name.
func categoryID(t *testing.T, b *ledger.Book, name string) uint {
	t.Helper()
	cats, err := b.Categories()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cats {
		if c.Name == name {
			return c.ID
		}
	}
	t.Fatalf("no category %q", name)
	return 0
}

func balanceOf(t *testing.T, b *ledger.Book, accountID uint) int64 {
	t.Helper()
	a, err := b.Account(accountID)
	if err != nil {
		t.Fatal(err)
	}
	return a.Balance
}

// storedRows is the account's first page of rows as the book reads them.
func storedRows(t *testing.T, b *ledger.Book, accountID uint) []ledger.Row {
	t.Helper()
	p, err := b.Register(accountID, "", ledger.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	return p.Rows
}

var accountPath = regexp.MustCompile(`^/accounts/([0-9]+)$`)

// createAccountThroughPage fills the "Add an account" form on /accounts (USD, checking,
// opened today) and waits for the new account's register, where the app sends the browser.
func createAccountThroughPage(t *testing.T, e *env, ctx context.Context, name, opening string) uint {
	t.Helper()
	do(t, ctx, "open /accounts",
		chromedp.Navigate(e.url("/accounts")),
		chromedp.WaitVisible(chromedp.ID("account-form")),
	)
	if kind, cur := value(t, ctx, "kind"), value(t, ctx, "currency"); kind != "checking" || cur != "USD" {
		t.Fatalf("the new account form starts with kind %q and currency %q, want checking and USD", kind, cur)
	}
	do(t, ctx, "add the account "+name,
		fill("name", name, "opening_balance", opening),
		chromedp.Click(chromedp.CSS(`#account-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("tx-add-payee")),
	)
	u, err := url.Parse(location(t, ctx))
	if err != nil {
		t.Fatal(err)
	}
	m := accountPath.FindStringSubmatch(u.Path)
	if m == nil {
		t.Fatalf("after adding an account the browser is at %s, want its register /accounts/ID", u)
	}
	id, _ := strconv.ParseUint(m[1], 10, 32)
	if got := text(t, ctx, "account-name"); got != name {
		t.Errorf("the register is headed %q, want %q", got, name)
	}
	return uint(id)
}

// openAccount loads an account's register and leaves a marker on window, which only a full
// page load would lose.
func openAccount(t *testing.T, e *env, ctx context.Context, accountID uint) {
	t.Helper()
	do(t, ctx, fmt.Sprintf("open the register of account %d", accountID),
		chromedp.Navigate(e.url(fmt.Sprintf("/accounts/%d", accountID))),
		chromedp.WaitVisible(chromedp.ID("tx-add-payee")),
	)
	markPage(t, ctx)
}

// markPage leaves a marker on window and checks that the watchers run in the document.
func markPage(t *testing.T, ctx context.Context) {
	t.Helper()
	if !eval[bool](t, ctx, `window.__marker = 1, Array.isArray(window.__swapped) && typeof window.__settled === 'number'`) {
		t.Fatal("the htmx watchers are not installed in this document")
	}
}

// assertSamePage checks that the browser is still at path in the document markPage marked:
// everything since was swapped in place.
func assertSamePage(t *testing.T, e *env, ctx context.Context, path, after string) {
	t.Helper()
	if loc := location(t, ctx); loc != e.url(path) {
		t.Errorf("after %s the browser is at %s, want it still at %s", after, loc, path)
	}
	if m := eval[int](t, ctx, `window.__marker || 0`); m != 1 {
		t.Errorf("after %s the window marker is gone: the page was loaded again instead of swapped", after)
	}
}

// pollJS polls fn, a JavaScript function of args, until it returns true, for at most
// ledgerWait. An empty string among args reaches fn as undefined.
func pollJS(ctx context.Context, fn string, args ...any) error {
	waitCtx, cancel := context.WithTimeout(ctx, ledgerWait)
	defer cancel()
	_, err := chromedp.Run(waitCtx, chromedp.PollFunction[bool](fn, chromedp.WithPollingArgs(args...)))
	return err
}

// waitJS is pollJS that fails the test, showing the page, when fn never returns true.
func waitJS(t *testing.T, ctx context.Context, what, fn string, args ...any) {
	t.Helper()
	if err := pollJS(ctx, fn, args...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
}

// registerRows reads the register's transaction rows, newest first.
func registerRows(t *testing.T, ctx context.Context) []ledgerRow {
	t.Helper()
	return rowsOf(t, ctx, "#register-body")
}

func rowsOf(t *testing.T, ctx context.Context, tbody string) []ledgerRow {
	t.Helper()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]ledgerRow]("("+ledgerRowsJS+")("+strconv.Quote(tbody)+")"))
	if err != nil {
		t.Fatalf("read the rows of %s: %v\n%s", tbody, err, pageState(ctx))
	}
	return rows
}

// waitRowWithPayee waits until the register shows a row with this payee.
func waitRowWithPayee(t *testing.T, ctx context.Context, what, payee string) ledgerRow {
	t.Helper()
	waitJS(t, ctx, what, `p => [...document.querySelectorAll('#register-body > tr')].some(tr =>
		/^tx-\d+$/.test(tr.id) && tr.querySelector('.payee') && tr.querySelector('.payee').textContent.trim() === p)`, payee)
	for _, r := range registerRows(t, ctx) {
		if r.Payee == payee {
			return r
		}
	}
	t.Fatalf("%s: the row with payee %q went away", what, payee)
	return ledgerRow{}
}

// activeID is the id of the focused element.
func activeID(t *testing.T, ctx context.Context) string {
	t.Helper()
	return eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ''`)
}

// waitFocus waits until the element with this id has the focus.
func waitFocus(t *testing.T, ctx context.Context, what, id string) {
	t.Helper()
	if err := pollJS(ctx, `id => document.activeElement && document.activeElement.id === id`, id); err != nil {
		t.Errorf("%s: the focus is on #%s (%s), want it on #%s", what, activeID(t, ctx),
			eval[string](t, ctx, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ''`), id)
	}
}

// scripts lists the src of the document's scripts, to tell a missing static/app.js apart from
// one that does not do its job.
func scripts(t *testing.T, ctx context.Context) string {
	t.Helper()
	return strings.Join(eval[[]string](t, ctx, `[...document.scripts].map(s => s.getAttribute('src') || '(inline)')`), ", ")
}

// minor reads an amount the page shows in the default format ("-1,234.56") as minor units.
func minor(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.NewReplacer(",", "", ".", "").Replace(s), 10, 64)
	if err != nil || !strings.Contains(s, ".") {
		t.Fatalf("amount %q is not one the page should show", s)
	}
	return n
}
