package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// importClock is a clock the import tests move by hand.
type importClock struct{ now time.Time }

func (c *importClock) Now() time.Time { return c.now }

// importBook is a user's book on a clock, with a USD checking account opened with 100.00.
func importBook(t *testing.T, db *gorm.DB, name string) (*Book, *importClock, uint) {
	t.Helper()
	clock := &importClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	b, err := ForClock(db, newUser(t, db, name), clock.Now)
	noErr(t, err)
	return b, clock, mustAccount(t, b, "Checking", "USD", 100_00).ID
}

// stage uploads a file made of rows into account and stages the rows.
func stage(t *testing.T, b *Book, account uint, file string, rows ...ImportRow) *Import {
	t.Helper()
	im := must[*Import](t)(b.StageImport(StagedFile{AccountID: account, FileName: "statement.csv", Format: "csv", Data: []byte(file)}))
	return must[*Import](t)(b.StageImportRows(im.ID, ImportRows{Format: "csv", Mapping: `{"date_column":"Date"}`, SaveMapping: true,
		Rows: slices.Values(rows)}))
}

// statuses is every staged row's "line:status".
func statuses(t *testing.T, b *Book, id uint) string {
	t.Helper()
	rows, _ := mustRows(t, b, id, "")
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d:%s", r.Line, r.Status))
	}
	return strings.Join(out, " ")
}

func mustRows(t *testing.T, b *Book, id uint, status string) ([]StagedRow, int) {
	t.Helper()
	rows, n, err := b.StagedRows(id, status, 0, 0)
	noErr(t, err)
	return rows, n
}

func row(line int, date, payee string, amount int64) ImportRow {
	return ImportRow{Line: line, Date: date, Payee: payee, Amount: amount}
}

func count(t *testing.T, db *gorm.DB, q string, args ...any) int {
	t.Helper()
	var n int
	noErr(t, db.Raw(q, args...).Scan(&n).Error)
	return n
}

func TestImportDuplicateRules(t *testing.T) {
	db := openTestDB(t)
	b, _, acc := importBook(t, db, "ada")

	// Two real coffees on one day are two rows; the file's first import writes both.
	first := stage(t, b, acc, "one",
		row(2, "2026-02-01", "Coffee", -3_50),
		row(3, "2026-02-01", "Coffee", -3_50),
		row(4, "2026-02-02", "Rent", -900_00))
	if got := statuses(t, b, first.ID); got != "2:new 3:new 4:new" {
		t.Fatalf("first statement: %s", got)
	}
	res := must[*CommitResult](t)(b.CommitImport(first.ID, nil))
	if res.Written != 3 || balanceOf(t, b, acc) != 100_00-907_00 {
		t.Fatalf("written %d, balance %d", res.Written, balanceOf(t, b, acc))
	}

	// An overlapping statement (other spelling of the payee, a third coffee that day) adds only
	// what is new: the n-th coffee is a duplicate while the account has n of them.
	second := stage(t, b, acc, "two",
		row(2, "2026-02-01", "  COFFEE ", -3_50),
		row(3, "2026-02-01", "coffee", -3_50),
		row(4, "2026-02-01", "Coffee", -3_50),
		row(5, "2026-02-02", "Rent", -900_00),
		row(6, "2026-02-03", "Rent", -900_00))
	if got := statuses(t, b, second.ID); got != "2:duplicate 3:duplicate 4:new 5:duplicate 6:new" {
		t.Fatalf("overlapping statement: %s", got)
	}
	if second.Counts != (ImportCounts{New: 2, Duplicate: 3}) {
		t.Errorf("counts %+v", second.Counts)
	}

	// The opening balance counts like any row.
	opening := stage(t, b, acc, "three", row(1, "2024-01-01", "", 100_00))
	if got := statuses(t, b, opening.ID); got != "1:duplicate" {
		t.Errorf("the opening balance again: %s", got)
	}

	// Bank ids: a row with one is a duplicate when the account has it, whatever its other fields.
	withID := func(r ImportRow, id string) ImportRow { r.ExternalID = id; return r }
	ofx := stage(t, b, acc, "ofx", withID(row(10, "2026-02-05", "Shop", -10_00), "F1"), withID(row(11, "2026-02-05", "Shop", -10_00), "F2"))
	must[*CommitResult](t)(b.CommitImport(ofx.ID, nil))
	again := stage(t, b, acc, "ofx 2", withID(row(10, "2026-02-06", "Shop changed", -11_00), "F1"), withID(row(11, "2026-02-05", "Shop", -10_00), "F3"))
	if got := statuses(t, b, again.ID); got != "10:duplicate 11:new" {
		t.Errorf("bank ids: %s", got)
	}
	checkTotals(t, db)
}

func TestImportPossibleMatch(t *testing.T) {
	db := openTestDB(t)
	b, _, acc := importBook(t, db, "ada")
	typed := mustAdd(t, b, TxInput{AccountID: acc, Date: "2026-02-10", Payee: "Groceries", Amount: -42_10})
	far := mustAdd(t, b, TxInput{AccountID: acc, Date: "2026-02-20", Payee: "Books", Amount: -15_00})

	im := stage(t, b, acc, "file",
		ImportRow{Line: 2, Date: "2026-02-13", Payee: "SUPERMARKET 123", Amount: -42_10, ExternalID: "B1"},
		row(3, "2026-02-14", "SUPERMARKET 456", -42_10), // the typed row is offered once
		row(4, "2026-02-25", "BOOKSHOP", -15_00))        // 5 days: too far
	rows, _ := mustRows(t, b, im.ID, "")
	if rows[0].Status != RowPossibleMatch || rows[0].MatchID != typed.ID || rows[0].MatchPayee != "Groceries" || rows[0].MatchDate != "2026-02-10" {
		t.Fatalf("possible match %+v", rows[0])
	}
	if rows[1].Status != RowNew || rows[2].Status != RowNew {
		t.Errorf("rows 3 and 4: %s, %s", rows[1].Status, rows[2].Status)
	}
	_ = far

	// Never merged on its own: committing writes the bank's row beside the typed one.
	res := must[*CommitResult](t)(b.CommitImport(im.ID, nil))
	if res.Written != 3 || count(t, db, `SELECT COUNT(*) FROM transactions WHERE account_id = ? AND amount = -4210`, acc) != 3 {
		t.Errorf("written %d", res.Written)
	}

	// Chosen as the same transaction (skipped), it is not written and the typed row takes the
	// bank's id, so the next statement sees it as a duplicate.
	typed2 := mustAdd(t, b, TxInput{AccountID: acc, Date: "2026-02-27", Payee: "Dinner", Amount: -60_00})
	im = stage(t, b, acc, "file 2", ImportRow{Line: 7, Date: "2026-02-28", Payee: "RESTAURANT", Amount: -60_00, ExternalID: "B9"})
	if got := statuses(t, b, im.ID); got != "7:possible_match" {
		t.Fatalf("statuses %s", got)
	}
	res = must[*CommitResult](t)(b.CommitImport(im.ID, []int{7}))
	if res.Written != 0 || res.Skipped != 1 {
		t.Errorf("commit %+v", res)
	}
	if r := must[*Row](t)(b.Transaction(typed2.ID)); r.ExternalID == nil || *r.ExternalID != "B9" || r.ImportID != nil {
		t.Errorf("typed row after 'same transaction': %+v", r.Transaction)
	}
	im = stage(t, b, acc, "file 3", ImportRow{Line: 7, Date: "2026-02-28", Payee: "RESTAURANT", Amount: -60_00, ExternalID: "B9"})
	if got := statuses(t, b, im.ID); got != "7:duplicate" {
		t.Errorf("the statement again: %s", got)
	}
	checkTotals(t, db)
}

func TestImportStagingWritesNothing(t *testing.T) {
	db := openTestDB(t)
	b, _, acc := importBook(t, db, "ada")
	before := snapshot(t, db, b.userID)
	im := stage(t, b, acc, "file", row(2, "2026-02-01", "Coffee", -3_50), ImportRow{Line: 3, Err: "The date 2025-02-30 does not exist."},
		row(4, "2026-02-31", "Bad date", -1), row(5, "2026-02-01", "Bad\x00payee", -1), row(6, "2026-02-01", "Too much", MaxAmount+1))
	must[[]StagedRow](t)(func() ([]StagedRow, error) { r, _, err := b.StagedRows(im.ID, "", 0, 10); return r, err }())
	noErr(t, b.SetImportSkips(im.ID, []int{2}, []int{2}))
	if snapshot(t, db, b.userID) != before {
		t.Fatal("staging changed the ledger")
	}
	rows, n := mustRows(t, b, im.ID, RowError)
	if n != 4 {
		t.Fatalf("%d errors: %+v", n, rows)
	}
	for _, want := range []string{"The date 2025-02-30 does not exist.", "Date: Enter a date like 2024-03-31.", "Payee: This contains control characters.", "Amount: This amount is too large."} {
		if !slices.ContainsFunc(rows, func(r StagedRow) bool { return r.Message == want }) {
			t.Errorf("no error %q in %+v", want, rows)
		}
	}
	// The only row that could be written was unticked: the commit writes nothing.
	res := must[*CommitResult](t)(b.CommitImport(im.ID, nil))
	if res.Written != 0 || res.Skipped != 1 || snapshot(t, db, b.userID) != before {
		t.Errorf("commit %+v", res)
	}
	if _, err := b.CommitImport(im.ID, nil); !errors.Is(err, ErrImportClosed) {
		t.Errorf("second commit: %v", err)
	}
}

func TestImportSameFileTwice(t *testing.T) {
	db := openTestDB(t)
	b, _, acc := importBook(t, db, "ada")
	rows := []ImportRow{row(2, "2026-02-01", "Coffee", -3_50), row(3, "2026-02-01", "Coffee", -3_50)}
	first := stage(t, b, acc, "same bytes", rows...)
	second := stage(t, b, acc, "same bytes", rows...) // staged before the first is committed
	must[*CommitResult](t)(b.CommitImport(first.ID, []int{3}))

	third := stage(t, b, acc, "same bytes", rows...)
	if third.SameFileID == nil || *third.SameFileID != first.ID || third.SameFileAt == nil || third.Counts.Duplicate != 2 {
		t.Fatalf("the same file again: %+v", third)
	}
	// The import staged before the first was committed finds its rows in the account at commit.
	res := must[*CommitResult](t)(b.CommitImport(second.ID, nil))
	if res.Written != 0 || res.Duplicates != 2 {
		t.Errorf("second commit %+v", res)
	}
	if n := count(t, db, `SELECT COUNT(*) FROM transactions WHERE account_id = ? AND NOT is_opening`, acc); n != 1 {
		t.Errorf("%d rows", n)
	}
	// Undone, the file may come in again.
	must[*Import](t)(b.UndoImport(first.ID, false))
	fourth := stage(t, b, acc, "same bytes", rows...)
	if fourth.SameFileID != nil || fourth.Counts.New != 2 {
		t.Errorf("after undo: %+v", fourth)
	}
}

func TestImportCommitAndUndo(t *testing.T) {
	db := openTestDB(t)
	b, clock, acc := importBook(t, db, "ada")
	savings := mustAccount(t, b, "Savings", "USD", 0).ID
	groceries := mustCategory(t, b, "Groceries", "Food").ID
	mustAdd(t, b, TxInput{AccountID: acc, Date: "2026-01-05", Payee: "Market", Amount: -1_00, CategoryID: groceries})
	typed := mustAdd(t, b, TxInput{AccountID: acc, Date: "2026-02-20", Payee: "Typed", Amount: -7_00})

	im := stage(t, b, acc, "file",
		row(2, "2026-02-01", "MARKET", -20_00), row(3, "2026-02-02", "Salary", 2000_00),
		row(4, "2026-02-03", "Transfer out", -50_00), row(5, "2026-02-04", "Split me", -30_00))
	rows, _ := mustRows(t, b, im.ID, "")
	if rows[0].CategoryID == nil || *rows[0].CategoryID != groceries || rows[1].CategoryID != nil {
		t.Errorf("categories from payee history: %v, %v", rows[0].CategoryID, rows[1].CategoryID)
	}
	named := stage(t, b, acc, "named", ImportRow{Line: 1, Date: "2026-01-01", Payee: "Somewhere", Amount: -1, Category: "Food:GROCERIES "},
		ImportRow{Line: 2, Date: "2026-01-01", Payee: "Market", Amount: -2, Category: "No such category"})
	if rows, _ := mustRows(t, b, named.ID, ""); rows[0].CategoryID == nil || *rows[0].CategoryID != groceries ||
		rows[1].CategoryID == nil || *rows[1].CategoryID != groceries {
		t.Errorf("categories named by the file: %v, %v", rows[0].CategoryID, rows[1].CategoryID)
	}
	noErr(t, b.DeleteImport(named.ID))
	balance := balanceOf(t, b, acc)
	res := must[*CommitResult](t)(b.CommitImport(im.ID, nil))
	if res.Written != 4 || balanceOf(t, b, acc) != balance+1900_00 {
		t.Fatalf("commit %+v, balance %d", res, balanceOf(t, b, acc))
	}
	if res.Import.Status != ImportCommitted || count(t, db, `SELECT COUNT(*) FROM import_rows`) != 0 ||
		count(t, db, `SELECT COUNT(*) FROM imports WHERE data IS NOT NULL`) != 0 {
		t.Error("a committed import keeps its staged rows or its file")
	}
	page := must[*Page](t)(b.ImportedRows(im.ID, "", 50))
	if len(page.Rows) != 4 || page.Rows[0].ImportID == nil || *page.Rows[0].ImportID != im.ID {
		t.Fatalf("imported rows %+v", page.Rows)
	}
	if mapping := must[string](t)(b.ImportMapping(acc)); mapping != `{"date_column":"Date"}` {
		t.Errorf("saved mapping %q", mapping)
	}

	// Days later the user edits two rows: one becomes a transfer, one a split.
	clock.now = clock.now.Add(72 * time.Hour)
	ids := map[string]uint{}
	for _, r := range page.Rows {
		ids[r.Payee] = r.ID
	}
	transfer := must[*Row](t)(b.UpdateTransaction(ids["Transfer out"], TxInput{AccountID: acc, Date: "2026-02-03", Payee: "Transfer out", Amount: -50_00, TransferAccountID: savings}))
	must[*Row](t)(b.UpdateTransaction(ids["Split me"], TxInput{AccountID: acc, Date: "2026-02-04", Payee: "Split me", Amount: -30_00,
		Splits: []SplitInput{{groceries, -10_00, ""}, {groceries, -20_00, ""}}}))
	edits, n := func() ([]Row, int) { r, n, err := b.ImportEdits(im.ID, 50); noErr(t, err); return r, n }()
	if n != 2 || len(edits) != 2 {
		t.Fatalf("edits %d %+v", n, edits)
	}

	// Undo keeps the edited rows unless told otherwise, and touches nothing else.
	clock.now = clock.now.Add(72 * time.Hour)
	done := must[*Import](t)(b.UndoImport(im.ID, false))
	if done.Removed != 2 || done.Kept != 2 || done.Status != ImportUndone {
		t.Fatalf("undo %+v", done)
	}
	if _, err := b.Transaction(typed.ID); err != nil {
		t.Errorf("the typed row went: %v", err)
	}
	if _, err := b.UndoImport(im.ID, true); !errors.Is(err, ErrImportClosed) {
		t.Errorf("second undo: %v", err)
	}

	// Removing the edited rows too leaves the transfer's other leg as a plain row.
	im2 := stage(t, b, acc, "file 2", row(2, "2026-02-10", "Edited later", -5_00))
	must[*CommitResult](t)(b.CommitImport(im2.ID, nil))
	r := must[*Page](t)(b.ImportedRows(im2.ID, "", 50)).Rows[0]
	clock.now = clock.now.Add(time.Hour)
	leg := must[*Row](t)(b.UpdateTransaction(r.ID, TxInput{AccountID: acc, Date: r.Date, Payee: "Edited later", Amount: -5_00, TransferAccountID: savings}))
	done = must[*Import](t)(b.UndoImport(im2.ID, true))
	if done.Removed != 1 || done.Kept != 0 {
		t.Errorf("undo with edits %+v", done)
	}
	if other := must[*Row](t)(b.Transaction(*leg.TransferID)); other.TransferID != nil || other.AccountID != savings {
		t.Errorf("the other leg %+v", other.Transaction)
	}
	_ = transfer
	checkTotals(t, db)
}

func TestImportStagedExpire(t *testing.T) {
	db := openTestDB(t)
	b, clock, acc := importBook(t, db, "ada")
	im := stage(t, b, acc, "old", row(2, "2026-02-01", "Coffee", -3_50))
	clock.now = clock.now.Add(StagedTTL + time.Minute)
	if _, err := b.Import(im.ID); !isNotFound(err) {
		t.Errorf("a staged import past its time: %v", err)
	}
	if _, err := b.CommitImport(im.ID, nil); !isNotFound(err) {
		t.Errorf("commit past its time: %v", err)
	}
	if ims := must[[]Import](t)(b.Imports()); len(ims) != 0 {
		t.Errorf("listed: %+v", ims)
	}
	noErr(t, PurgeStagedImports(db, clock.now.Add(-StagedTTL)))
	if n := count(t, db, `SELECT COUNT(*) FROM imports`) + count(t, db, `SELECT COUNT(*) FROM import_rows`); n != 0 {
		t.Errorf("%d rows left", n)
	}
	// A user keeps at most MaxStaged staged imports: the oldest go.
	var last *Import
	for i := range MaxStaged + 2 {
		last = must[*Import](t)(b.StageImport(StagedFile{AccountID: acc, FileName: "f.csv", Data: []byte{byte(i + 1)}}))
	}
	if n := count(t, db, `SELECT COUNT(*) FROM imports WHERE status = 'staged'`); n != MaxStaged {
		t.Errorf("%d staged imports", n)
	}
	if data := must[[]byte](t)(b.ImportFile(last.ID)); string(data) != string([]byte{MaxStaged + 2}) {
		t.Errorf("file %v", data)
	}
	noErr(t, b.DeleteImport(last.ID))
	if _, err := b.Import(last.ID); !isNotFound(err) {
		t.Errorf("cancelled import: %v", err)
	}
}

func TestImportStatementBalance(t *testing.T) {
	db := openTestDB(t)
	b, _, acc := importBook(t, db, "ada")
	im := must[*Import](t)(b.StageImport(StagedFile{AccountID: acc, FileName: "s.ofx", Format: "ofx", Data: []byte("x")}))
	im = must[*Import](t)(b.StageImportRows(im.ID, ImportRows{Format: "ofx", Rows: slices.Values([]ImportRow{
		row(5, "2026-02-01", "A", -10_00), row(9, "2026-02-03", "B", -5_00)}),
		Statement: &StatementBalance{Amount: 90_00, Date: "2026-02-02"}}))
	if im.LedgerBalance == nil || *im.LedgerBalance != 90_00 {
		t.Fatalf("balance on the statement's date %v", im.LedgerBalance)
	}
	noErr(t, b.SetImportSkips(im.ID, []int{5}, []int{5}))
	if im = must[*Import](t)(b.Import(im.ID)); *im.LedgerBalance != 100_00 || im.Skipped != 1 {
		t.Errorf("with the row skipped: %d, skipped %d", *im.LedgerBalance, im.Skipped)
	}
	if _, err := b.CommitImport(im.ID, []int{77}); validation(t, err).Fields["skip_lines"] != "Line 77 is not a row of this file." {
		t.Errorf("unknown line: %v", err)
	}
	res := must[*CommitResult](t)(b.CommitImport(im.ID, []int{}))
	if *res.Import.LedgerBalance != 100_00 || res.Written != 1 {
		t.Errorf("after commit: %d, written %d", *res.Import.LedgerBalance, res.Written)
	}
}

func BenchmarkImport50k(b *testing.B) {
	db := openTestDB(b)
	clock := &importClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	book, err := ForClock(db, newUser(b, db, "ada"), clock.Now)
	noErr(b, err)
	acc := mustAccount(b, book, "Checking", "USD", 0).ID
	rows := make([]ImportRow, 50_000)
	for i := range rows {
		day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/30).Format(time.DateOnly)
		rows[i] = row(i+2, day, fmt.Sprintf("Payee %d", i%700), -int64(i%5000+1))
	}
	for b.Loop() {
		start := time.Now()
		im := must[*Import](b)(book.StageImport(StagedFile{AccountID: acc, FileName: "big.csv", Data: []byte(start.String())}))
		im = must[*Import](b)(book.StageImportRows(im.ID, ImportRows{Rows: slices.Values(rows)}))
		staged := time.Since(start)
		start = time.Now()
		res := must[*CommitResult](b)(book.CommitImport(im.ID, nil))
		committed := time.Since(start)
		start = time.Now()
		must[*Import](b)(book.UndoImport(im.ID, false))
		b.ReportMetric(staged.Seconds(), "stage-s")
		b.ReportMetric(committed.Seconds(), "commit-s")
		b.ReportMetric(time.Since(start).Seconds(), "undo-s")
		if res.Written != len(rows) {
			b.Fatalf("written %d", res.Written)
		}
	}
}
