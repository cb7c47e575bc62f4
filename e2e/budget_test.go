package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tally/models/ledger"
)

// budgetMonths are the current month and the one before, as the server's clock has them.
func budgetMonths() (this, last string) {
	this = time.Now().UTC().Format("2006-01")
	return this, ledger.AddMonths(this, -1)
}

// seedBudget gives ada an account with salary, groceries and eating out this month and last,
// and last month's budget for groceries and eating out.
func seedBudget(t *testing.T, b *ledger.Book) (account, groceries, eatingOut uint) {
	t.Helper()
	this, last := budgetMonths()
	account = seedAccount(t, b, "Everyday", 100_00)
	groceries, eatingOut = categoryID(t, b, "Groceries"), categoryID(t, b, "Eating out")
	salary := categoryID(t, b, "Salary")
	for _, in := range []ledger.TxInput{
		{AccountID: account, Date: last + "-02", Payee: "Work", Amount: 3000_00, CategoryID: salary},
		{AccountID: account, Date: last + "-05", Payee: "Market", Amount: -40_00, CategoryID: groceries},
		{AccountID: account, Date: this + "-01", Payee: "Work", Amount: 3000_00, CategoryID: salary},
		{AccountID: account, Date: this + "-02", Payee: "Market", Amount: -50_00, CategoryID: groceries},
		{AccountID: account, Date: this + "-03", Payee: "Bistro", Amount: -12_00, CategoryID: eatingOut},
	} {
		seedTx(t, b, in)
	}
	for cat, amount := range map[uint]int64{groceries: 45_00, eatingOut: 20_00} {
		if err := b.SetBudget(last, cat, "USD", amount); err != nil {
			t.Fatal(err)
		}
	}
	return account, groceries, eatingOut
}

// budgetRow is a row's element id on the budget page.
func budgetRow(category uint) string { return fmt.Sprintf("budget-%d-USD", category) }

// TestBrowserBudget: an amount typed in place is saved with Enter, the budget redraws without a
// page load and the focus moves to the next row; "copy last month" brings last month's amounts.
func TestBrowserBudget(t *testing.T) {
	e, b := startLedger(t)
	_, groceries, eatingOut := seedBudget(t, b)
	this, _ := budgetMonths()
	ctx := ledgerBrowser(t, e)
	path := "/budget?month=" + this
	do(t, ctx, "open the budget",
		chromedp.Navigate(e.url(path)),
		chromedp.WaitVisible(chromedp.ID(budgetRow(groceries)+"-amount")),
	)
	markPage(t, ctx)
	if got := text(t, ctx, "budget-total-USD"); !strings.Contains(got, "62.00 spent") {
		t.Errorf("the month's totals say %q, want 62.00 spent", got)
	}

	field := budgetRow(groceries) + "-amount"
	status := swap(t, ctx, "type 60 into groceries and press Enter",
		chromedp.Click(chromedp.ID(field)),
		chromedp.KeyEvent("60"),
		chromedp.KeyEvent(kb.Enter),
	)
	if status != 200 {
		t.Fatalf("saving the amount answered %d", status)
	}
	if got := text(t, ctx, budgetRow(groceries)); !strings.Contains(got, "10.00 left") {
		t.Errorf("groceries after saving 60: %q, want 10.00 left", got)
	}
	if got := value(t, ctx, field); got != "60.00" {
		t.Errorf("the amount field shows %q", got)
	}
	assertSamePage(t, e, ctx, path, "saving an amount")
	waitFocus(t, ctx, "after Enter", budgetRow(eatingOut)+"-amount")
	stored, err := b.BudgetMonth(this)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range stored.Lines {
		if l.CategoryID == groceries && l.Budgeted != 60_00 {
			t.Errorf("stored %d for groceries", l.Budgeted)
		}
	}

	swap(t, ctx, "copy last month", chromedp.Click(chromedp.ID("budget-copy")))
	if got := text(t, ctx, "budget-notice"); !strings.HasPrefix(got, "Copied 2 amounts from ") {
		t.Errorf("the notice says %q", got)
	}
	if got := value(t, ctx, field); got != "45.00" {
		t.Errorf("groceries after the copy: %q, want last month's 45.00", got)
	}
	if got := text(t, ctx, budgetRow(groceries)); !strings.Contains(got, "Overspent by 5.00") {
		t.Errorf("groceries after the copy: %q, want it overspent by 5.00", got)
	}
	if !eval[bool](t, ctx, `document.getElementById(`+fmt.Sprintf("%q", budgetRow(groceries))+`).classList.contains('over')`) {
		t.Error("the overspent row is not marked")
	}
	assertSamePage(t, e, ctx, path, "copying last month")

	do(t, ctx, "the month before", chromedp.Click(chromedp.ID("budget-prev")), chromedp.WaitVisible(chromedp.ID("budget-copy")))
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/budget?month="+ledger.AddMonths(this, -1)) {
		t.Errorf("the previous month is at %s", loc)
	}
	assertNoCSPViolations(t, ctx, "the budget")
}

// TestBrowserReports opens each report, checks that it draws a chart with its table, and
// follows a bar of the spending chart to the transactions behind it.
func TestBrowserReports(t *testing.T) {
	e, b := startLedger(t)
	_, groceries, _ := seedBudget(t, b)
	this, _ := budgetMonths()
	ctx := ledgerBrowser(t, e)
	for _, kind := range []string{"spending", "cashflow", "networth", "budget"} {
		do(t, ctx, "open the "+kind+" report",
			chromedp.Navigate(e.url("/reports/"+kind)),
			chromedp.WaitVisible(chromedp.CSS(`#report svg[role="img"]`)),
		)
		if n := eval[int](t, ctx, `document.querySelectorAll('#report table.report-table tbody tr').length`); n == 0 {
			t.Errorf("the %s report has no table", kind)
		}
		assertNoCSPViolations(t, ctx, "the "+kind+" report")
	}

	do(t, ctx, "open the spending report", chromedp.Navigate(e.url("/reports/spending")),
		chromedp.WaitVisible(chromedp.CSS(`#report svg[role="img"]`)))
	bar := fmt.Sprintf(`#report svg a[href*="category_id=%d&"][href*="from=%s-01"] rect`, groceries, this)
	do(t, ctx, "follow this month's groceries bar",
		chromedp.Click(chromedp.CSS(bar)),
		chromedp.WaitVisible(chromedp.ID("tx-table")),
	)
	loc, err := url.Parse(location(t, ctx))
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	if loc.Path != "/transactions" || q.Get("category_id") != fmt.Sprint(groceries) || q.Get("from") != this+"-01" ||
		q.Get("to") != ledger.MonthEnd(this) {
		t.Errorf("the bar led to %s", loc)
	}
	rows := rowsOf(t, ctx, "#tx-table tbody")
	if len(rows) != 1 || rows[0].Payee != "Market" || rows[0].Amount != "-50.00" {
		t.Errorf("the bar's transactions are %v, want this month's one groceries row", rows)
	}
	assertNoCSPViolations(t, ctx, "the transactions behind a bar")
}

// TestBrowserBudgetPhoneWidth: on a 375 px wide phone the budget and a report do not scroll
// sideways (a report's wide table scrolls in its own box), and an amount is set by tapping.
func TestBrowserBudgetPhoneWidth(t *testing.T) {
	e, b := startLedger(t)
	_, groceries, _ := seedBudget(t, b)
	ctx := ledgerBrowser(t, e)
	do(t, ctx, "emulate a 375x740 phone", chromedp.EmulateViewport(375, 740, chromedp.EmulateMobile))
	checkWidth := func(when string) {
		t.Helper()
		if w := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth]`); w[0] > w[1] || w[1] > 375 {
			t.Errorf("%s: the page is %d px wide in a %d px viewport: it scrolls sideways", when, w[0], w[1])
		}
	}
	do(t, ctx, "open the budget", chromedp.Navigate(e.url("/budget")),
		chromedp.WaitVisible(chromedp.ID(budgetRow(groceries)+"-amount")))
	checkWidth("the budget")
	field := budgetRow(groceries) + "-amount"
	box := eval[[]float64](t, ctx, fmt.Sprintf(`(el => { el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();
		const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		return [r.left, r.right, r.width, r.height, hit === el ? 1 : 0]; })(document.getElementById(%q))`, field))
	if box[0] < 0 || box[1] > 375 || box[2] < 60 || box[3] < 24 || box[4] != 1 {
		t.Errorf("the amount field on the phone: left %.0f, right %.0f, %.0fx%.0f, on top %v", box[0], box[1], box[2], box[3], box[4] == 1)
	}
	swap(t, ctx, "tap the groceries amount, type and press Enter",
		chromedp.Click(chromedp.ID(field)), chromedp.KeyEvent("75"), chromedp.KeyEvent(kb.Enter))
	if got := text(t, ctx, budgetRow(groceries)); !strings.Contains(got, "25.00 left") {
		t.Errorf("groceries after 75 on the phone: %q", got)
	}
	checkWidth("the budget after a save")
	assertNoCSPViolations(t, ctx, "the budget on a phone")
	for _, kind := range []string{"spending", "cashflow"} {
		do(t, ctx, "open the "+kind+" report", chromedp.Navigate(e.url("/reports/"+kind)),
			chromedp.WaitVisible(chromedp.CSS(`#report svg[role="img"]`)))
		checkWidth("the " + kind + " report")
		assertNoCSPViolations(t, ctx, "the "+kind+" report on a phone")
	}
}
