package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"tally/models/ledger"
)

// TestBrowserImport walks issue 23's flow in a browser: upload from the account's import link,
// map the columns, preview (a possible match shown beside the typed row, one row unticked with
// htmx saving the choice at once), confirm, see the imported rows, undo; with no CSP violation
// on any page.
func TestBrowserImport(t *testing.T) {
	e, b := startLedger(t)
	acc := seedAccount(t, b, "Everyday", 100_00)
	seedTx(t, b, ledger.TxInput{AccountID: acc, Date: "2026-02-03", Payee: "Groceries", Amount: -42_10})
	file := filepath.Join(t.TempDir(), "statement.csv")
	csv := "Booking date;Description;Amount (EUR)\n" +
		"02.02.2026;Coffee;-3,50\n02.02.2026;Coffee;-3,50\n04.02.2026;SUPERMARKET;-42,10\n05.02.2026;Salary;2.000,00\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := ledgerBrowser(t, e)

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		do(t, ctx, name, append(actions,
			// Violation events are dispatched as tasks: let those already queued run first.
			chromedp.Evaluate[chromedp.Void](`new Promise(resolve => setTimeout(resolve))`, chromedp.EvalAwaitPromise))...)
		noViolations(t, ctx, name)
	}

	step("upload",
		chromedp.Navigate(e.url(fmt.Sprintf("/import?account_id=%d", acc))),
		chromedp.WaitVisible(chromedp.ID("import-form")),
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}),
		chromedp.Click(chromedp.CSS(`#import-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("map-form")),
	)
	if got := selectedText(t, ctx, "date_column"); got != "Booking date" {
		t.Errorf("the date column is %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#map-sample tbody tr').length`); n != 4 {
		t.Errorf("%d sample rows", n)
	}
	if ims, err := b.Imports(); err != nil || len(ims) != 1 || rowsIn(t, b, acc) != 2 {
		t.Fatal("the upload wrote to the ledger")
	}

	step("map",
		chromedp.Click(chromedp.CSS(`#map-form button[type="submit"]:not([name])`)),
		chromedp.WaitVisible(chromedp.ID("preview-table")),
	)
	for id, want := range map[string]string{"count-new": "3", "count-possible": "1", "count-duplicate": "0", "count-error": "0"} {
		if got := text(t, ctx, id); got != want {
			t.Errorf("#%s shows %q, want %s", id, got, want)
		}
	}
	if got := strings.Join(strings.Fields(eval[string](t, ctx, `document.querySelector('#line-4 .match').textContent`)), " "); got != "Typed: 2026-02-03 Groceries -42.10" {
		t.Errorf("the possible match shows %q", got)
	}
	if text(t, ctx, "import-to-write") != "Confirm: write 4 rows" {
		t.Errorf("confirm says %q", text(t, ctx, "import-to-write"))
	}
	// Unticking a row saves at once (htmx) and redraws Confirm's count.
	step("untick the second coffee",
		chromedp.Click(chromedp.ID("keep-3")),
		chromedp.Poll[chromedp.Void](`document.getElementById('import-to-write').textContent.trim() === 'Confirm: write 3 rows'`),
	)
	if rowsIn(t, b, acc) != 2 {
		t.Fatal("the preview wrote to the ledger")
	}

	step("confirm",
		chromedp.Click(chromedp.ID("import-confirm")),
		chromedp.WaitVisible(chromedp.ID("count-written")),
	)
	summary := location(t, ctx)
	if got := text(t, ctx, "count-written"); got != "3" {
		t.Errorf("written %q", got)
	}
	if got := balanceOf(t, b, acc); got != 100_00-42_10-3_50-42_10+2000_00 {
		t.Errorf("balance %d", got)
	}
	step("see the imported rows",
		chromedp.Click(chromedp.ID("imported-rows")),
		chromedp.WaitVisible(chromedp.ID("tx-table")),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll('#tx-table tr[id^="tx-"]').length`); n != 3 {
		t.Errorf("%d imported rows listed", n)
	}

	step("undo",
		chromedp.Navigate(summary),
		chromedp.WaitVisible(chromedp.ID("undo-link")),
		chromedp.Click(chromedp.ID("undo-link")),
		chromedp.WaitVisible(chromedp.ID("undo-form")),
		chromedp.Click(chromedp.ID("undo-confirm")),
		chromedp.WaitVisible(chromedp.ID("imports-table")),
	)
	if got := eval[string](t, ctx, `document.querySelector('.alert-ok').textContent.trim()`); got != "Undid the import of statement.csv: removed 3 rows." {
		t.Errorf("flash %q", got)
	}
	if got := balanceOf(t, b, acc); got != 100_00-42_10 || rowsIn(t, b, acc) != 2 {
		t.Errorf("after undo: balance %d", got)
	}
}

func noViolations(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	if !eval[bool](t, ctx, `window.__cspListening === true`) {
		t.Fatalf("%s: the violation listener is not installed in this document", step)
	}
	if v := eval[[]string](t, ctx, `window.__csp || []`); len(v) > 0 {
		t.Errorf("%s: CSP violations %v", step, v)
	}
}

// selectedText is the label of the option chosen in the select with id.
func selectedText(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	return eval[string](t, ctx, `(s => s.options[s.selectedIndex].textContent)(document.getElementById('`+id+`'))`)
}

// rowsIn counts the account's rows as the book reads them.
func rowsIn(t *testing.T, b *ledger.Book, account uint) int {
	t.Helper()
	return len(storedRows(t, b, account))
}
