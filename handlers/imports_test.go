package handlers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/models/ledger"
)

// testFile is a file of the importer's test data: made to look like real bank exports.
func testFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "importer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// uploadImport posts a multipart form with fields and a file part "file" (none when name is "").
func (c *client) uploadImport(path string, fields map[string]string, name string, data []byte, headers ...string) *response {
	c.ta.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if _, ok := fields["_csrf"]; !ok && len(headers) == 0 {
		_ = w.WriteField("_csrf", c.csrf)
	}
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	if name != "" {
		p, _ := w.CreateFormFile("file", name)
		_, _ = p.Write(data)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+strings.TrimPrefix(path, "/"), &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	setHeaders(req, headers)
	return c.do(req)
}

// importIDOf reads the import id from a redirect to /imports/ID[/...].
func importIDOf(t testing.TB, res *response) uint {
	t.Helper()
	m := regexp.MustCompile(`^/imports/([0-9]+)`).FindStringSubmatch(res.Header.Get("Location"))
	if m == nil {
		t.Fatalf("redirect to %q, want an import: %d %s", res.Header.Get("Location"), res.StatusCode, trim(res.body))
	}
	id, _ := strconv.ParseUint(m[1], 10, 32)
	return uint(id)
}

// formOf is what a browser posts for the form sel as the page shows it: text and hidden inputs,
// ticked boxes and the selected options.
func formOf(doc *goquery.Document, sel string) url.Values {
	v := url.Values{}
	doc.Find(sel + " input, " + sel + " select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		if name == "" {
			return
		}
		typ, _ := s.Attr("type")
		switch {
		case goquery.NodeName(s) == "select":
			val, _ := s.Find("option[selected]").Attr("value")
			v.Add(name, val)
		case typ == "checkbox":
			if _, on := s.Attr("checked"); on {
				val, ok := s.Attr("value")
				if !ok {
					val = "on"
				}
				v.Add(name, val)
			}
		case typ == "submit" || typ == "file":
		default:
			val, _ := s.Attr("value")
			v.Add(name, val)
		}
	})
	return v
}

func selected(res *response, id string) string {
	v, _ := res.doc.Find("#" + id + " option[selected]").Attr("value")
	return v
}

// importBook is the user's book on the test's clock.
func (lc *ledgerClient) importBook() *ledger.Book {
	lc.t.Helper()
	b, err := ledger.ForClock(lc.ta.db, lc.user.ID, lc.ta.clock.Now)
	if err != nil {
		lc.t.Fatal(err)
	}
	return b
}

// later moves the clock by d and signs in again (the session ends after a while).
func (lc *ledgerClient) later(d time.Duration) {
	lc.t.Helper()
	lc.ta.clock.Advance(d)
	lc.login(lc.user.Username, goodPassword)
	lc.get("/accounts")
}

// ledgerRows counts the user's transactions.
func (lc *ledgerClient) ledgerRows() int {
	lc.t.Helper()
	var n int
	if err := lc.ta.db.Raw(`SELECT COUNT(*) FROM transactions WHERE user_id = ?`, lc.user.ID).Scan(&n).Error; err != nil {
		lc.t.Fatal(err)
	}
	return n
}

// apiUpload posts a file to /api/imports and decodes a 201 answer.
func (lc *ledgerClient) apiUpload(account uint, name string, data []byte, mapping string, status int) (*response, apiStaged) {
	lc.t.Helper()
	fields := map[string]string{"account_id": ids(account)}
	if mapping != "" {
		fields["mapping"] = mapping
	}
	res := lc.uploadImport("/api/imports", fields, name, data, "X-CSRF-Token", lc.csrf)
	wantStatus(lc.t, res, status)
	var out apiStaged
	if status == http.StatusCreated {
		decodeIntegerJSON(lc.t, res.body)
		if err := json.Unmarshal([]byte(res.body), &out); err != nil {
			lc.t.Fatal(err)
		}
	}
	return res, out
}

// apiPost posts a JSON body with the CSRF header.
func (lc *ledgerClient) apiPost(path, body string, status int, dst any) *response {
	lc.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", lc.csrf)
	res := lc.do(req)
	wantStatus(lc.t, res, status)
	if dst != nil {
		if err := json.Unmarshal([]byte(res.body), dst); err != nil {
			lc.t.Fatalf("%s: %v in %s", path, err, res.body)
		}
	}
	return res
}

type commitAnswer struct{ Written, Skipped, Duplicates int }

// importCSV takes a CSV through the pages: upload, the mapping as detected, preview.
func (lc *ledgerClient) importCSV(account uint, name string, data []byte) (uint, *response) {
	lc.t.Helper()
	res := lc.uploadImport("/import", map[string]string{"account_id": ids(account)}, name, data)
	wantStatus(lc.t, res, http.StatusSeeOther)
	id := importIDOf(lc.t, res)
	mapPage := lc.get("/imports/" + ids(id) + "/map")
	wantStatus(lc.t, mapPage, http.StatusOK)
	res = lc.post("/imports/"+ids(id)+"/map", formOf(mapPage.doc, "#map-form"))
	wantStatus(lc.t, res, http.StatusSeeOther)
	preview := lc.get("/imports/" + ids(id))
	wantStatus(lc.t, preview, http.StatusOK)
	return id, preview
}

func TestImportPagesUploadMapPreviewCommit(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Current", "GBP", "100.00")

	page := lc.get("/import?account_id=" + ids(acc))
	wantStatus(t, page, http.StatusOK)
	if selected(page, "account_id") != ids(acc) {
		t.Error("the register's account is not chosen")
	}

	// Upload: a CSV goes on to its columns; nothing is in the ledger.
	before := lc.ledgerRows()
	res := lc.uploadImport("/import", map[string]string{"account_id": ids(acc)}, "lloyds.csv", testFile(t, "uk_lloyds.csv"))
	wantStatus(t, res, http.StatusSeeOther)
	id := importIDOf(t, res)
	if res.Header.Get("Location") != "/imports/"+ids(id)+"/map" {
		t.Fatalf("upload goes to %s", res.Header.Get("Location"))
	}

	// Map: prefilled as detected, with a sample read that way.
	mapPage := lc.get("/imports/" + ids(id) + "/map")
	wantStatus(t, mapPage, http.StatusOK)
	if got := selected(mapPage, "date_column"); got != "Transaction Date" {
		t.Errorf("date column %q", got)
	}
	if n := mapPage.doc.Find("#map-sample tbody tr").Length(); n != 4 {
		t.Errorf("%d sample rows", n)
	}
	// The user picks a memo column; a refresh redraws the sample and stages nothing.
	form := formOf(mapPage.doc, "#map-form")
	form.Set("memo_column", "Transaction Type")
	refresh := cloneValues(form)
	refresh.Set("refresh", "1")
	res = lc.post("/imports/"+ids(id)+"/map", refresh)
	wantStatus(t, res, http.StatusOK)
	if selected(res, "memo_column") != "Transaction Type" {
		t.Error("refresh lost the choice")
	}
	res = lc.post("/imports/"+ids(id)+"/map", form)
	wantStatus(t, res, http.StatusSeeOther)

	// Preview: every row with its status, counts on top, nothing written.
	preview := lc.get("/imports/" + ids(id))
	wantStatus(t, preview, http.StatusOK)
	if text(preview, "#count-new") != "4" || text(preview, "#count-duplicate") != "0" || text(preview, "#count-error") != "0" {
		t.Errorf("counts %q", text(preview, "#import-counts"))
	}
	if n := preview.doc.Find("#preview-table tbody tr[id^=line-]").Length(); n != 4 {
		t.Errorf("%d rows in the preview", n)
	}
	if got := text(preview, "#line-2 td[data-label=Memo]"); got != "DD" {
		t.Errorf("memo from the chosen column: %q", got)
	}
	if lc.ledgerRows() != before {
		t.Fatal("the preview wrote to the ledger")
	}

	// Untick TESCO (line 3), confirm without script: the page's ticks come with Confirm.
	choices := formOf(preview.doc, "#import-choices")
	choices.Del("keep")
	for _, l := range []string{"2", "4", "5"} {
		choices.Add("keep", l)
	}
	res = lc.post("/imports/"+ids(id)+"/commit", choices)
	wantStatus(t, res, http.StatusSeeOther)
	summary := lc.get(res.Header.Get("Location"))
	wantStatus(t, summary, http.StatusOK)
	if text(summary, "#count-written") != "3" || text(summary, "#count-skipped") != "1" {
		t.Errorf("summary: %q", text(summary, "#import-counts"))
	}
	if !strings.Contains(text(summary, ".alert-ok"), "Imported 3 rows into Current.") {
		t.Errorf("flash %q", text(summary, ".alert-ok"))
	}
	if lc.ledgerRows() != before+3 || lc.balance(acc) != 100_00-38_00+2150_00+25 {
		t.Errorf("%d rows, balance %d", lc.ledgerRows()-before, lc.balance(acc))
	}
	rows := lc.get("/imports/" + ids(id) + "/rows")
	wantStatus(t, rows, http.StatusOK)
	if n := rows.doc.Find("#tx-table tr[id^=tx-]").Length(); n != 3 {
		t.Errorf("%d imported rows listed", n)
	}
	// Confirming again (a second tab) changes nothing.
	res = lc.post("/imports/"+ids(id)+"/commit", choices)
	wantStatus(t, res, http.StatusSeeOther)
	if lc.ledgerRows() != before+3 {
		t.Error("a second confirm wrote rows")
	}

	// The same file again: the saved mapping is offered, and nothing is new.
	res = lc.uploadImport("/import", map[string]string{"account_id": ids(acc)}, "lloyds.csv", testFile(t, "uk_lloyds.csv"))
	again := importIDOf(t, res)
	mapPage = lc.get("/imports/" + ids(again) + "/map")
	if selected(mapPage, "memo_column") != "Transaction Type" {
		t.Error("the account's mapping was not offered again")
	}
	wantStatus(t, lc.post("/imports/"+ids(again)+"/map", formOf(mapPage.doc, "#map-form")), http.StatusSeeOther)
	preview = lc.get("/imports/" + ids(again))
	if !strings.Contains(text(preview, "#same-file"), "You imported this file into Current on 2026-11-23") ||
		text(preview, "#count-duplicate") != "4" || text(preview, "#import-to-write") != "Confirm: write 0 rows" {
		t.Errorf("same file: %q %q", text(preview, "#same-file"), text(preview, "#import-to-write"))
	}
	wantStatus(t, lc.post("/imports/"+ids(again)+"/commit", formOf(preview.doc, "#import-choices")), http.StatusSeeOther)
	if lc.ledgerRows() != before+3 {
		t.Error("the same file wrote rows")
	}
}

// TestImportChoicesWithHTMX: a tick saves at once and redraws Confirm's count; paging without
// script keeps the page's ticks.
func TestImportChoicesWithHTMX(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	var csv strings.Builder
	csv.WriteString("Date,Payee,Amount\n")
	for i := range importPageSize + 5 {
		fmt.Fprintf(&csv, "2026-10-%02d,Shop %d,-%d.00\n", i%28+1, i, i+1)
	}
	id, preview := lc.importCSV(acc, "long.csv", []byte(csv.String()))
	if got := text(preview, "#import-to-write"); got != "Confirm: write 205 rows" {
		t.Fatalf("confirm says %q", got)
	}
	choices := formOf(preview.doc, "#import-choices")
	choices.Del("keep") // every box of the page unticked
	res := lc.post("/imports/"+ids(id)+"/choices", choices, htmx...)
	wantStatus(t, res, http.StatusOK)
	if got := strings.TrimSpace(res.doc.Find(`#import-to-write[hx-swap-oob="true"]`).Text()); got != "Confirm: write 5 rows" {
		t.Errorf("redrawn count %q", got)
	}
	choices.Set("goto", "2")
	res = lc.post("/imports/"+ids(id)+"/choices", choices)
	wantStatus(t, res, http.StatusSeeOther)
	second := lc.get(res.Header.Get("Location"))
	if n := second.doc.Find("#preview-table tr[id^=line-]").Length(); n != 5 || text(second, ".pager .muted") != "Page 2 of 2" {
		t.Errorf("page 2: %d rows, %q", n, text(second, ".pager .muted"))
	}
	var answer commitAnswer
	lc.apiPost("/api/imports/"+ids(id)+"/commit", "", http.StatusOK, &answer)
	if answer != (commitAnswer{Written: 5, Skipped: 200}) {
		t.Errorf("commit %+v", answer)
	}
}

func TestImportAPI(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	file := testFile(t, "accounting_signs.csv")

	// A POST without the CSRF header is refused like any other.
	res := lc.uploadImport("/api/imports", map[string]string{"account_id": ids(acc), "_csrf": ""}, "a.csv", file)
	wantStatus(t, res, http.StatusForbidden)

	_, staged := lc.apiUpload(acc, "a.csv", file, "", http.StatusCreated)
	if staged.Format != "csv" || staged.Detected.DateColumn != "Date" || staged.Detected.AmountColumn != "Amount" ||
		staged.Counts != (ledger.ImportCounts{New: 6}) || len(staged.Rows) != 6 {
		t.Fatalf("staged %+v", staged)
	}
	if r := staged.Rows[4]; r.Line != 6 || r.Status != "new" || r.Amount != "-1234.56" || r.AmountMinor != -123456 || r.Payee != "Big purchase" {
		t.Errorf("row %+v", r)
	}
	if lc.ledgerRows() != 0 {
		t.Fatal("staging wrote rows")
	}
	var list []apiImport
	apiGet(t, lc.client, "/api/imports", http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != staged.ID || list[0].Status != "staged" || list[0].Undone || list[0].AccountID != acc {
		t.Errorf("list %+v", list)
	}

	lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", `{"skip_lines": [99]}`, http.StatusUnprocessableEntity, nil)
	lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", `{"skip": [3]}`, http.StatusBadRequest, nil)
	var answer commitAnswer
	lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", `{"skip_lines": [3]}`, http.StatusOK, &answer)
	if answer != (commitAnswer{Written: 5, Skipped: 1}) || lc.ledgerRows() != 5 {
		t.Errorf("commit %+v, %d rows", answer, lc.ledgerRows())
	}
	if got := apiErrorOf(t, lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", "", http.StatusConflict, nil)); got != "This import was confirmed or undone already." {
		t.Errorf("second commit: %q", got)
	}
	var undone struct{ Removed, Kept int }
	lc.apiPost("/api/imports/"+ids(staged.ID)+"/undo", "", http.StatusOK, &undone)
	if undone.Removed != 5 || undone.Kept != 0 || lc.ledgerRows() != 0 {
		t.Errorf("undo %+v", undone)
	}
	apiGet(t, lc.client, "/api/imports", http.StatusOK, &list)
	if !list[0].Undone || list[0].Written != 5 {
		t.Errorf("after undo %+v", list[0])
	}

	// Dates that fit two formats are asked, not guessed; a mapping decides, columns by name or index.
	ambiguous := testFile(t, "ambiguous_dates.csv")
	res, _ = lc.apiUpload(acc, "d.csv", ambiguous, "", http.StatusUnprocessableEntity)
	var refusal struct {
		Error     string
		Ambiguous []string
		Columns   []string
	}
	_ = json.Unmarshal([]byte(res.body), &refusal)
	if refusal.Error == "" || strings.Join(refusal.Ambiguous, ",") != "date_format" || len(refusal.Columns) != 3 {
		t.Errorf("ambiguous dates: %s", res.body)
	}
	_, staged = lc.apiUpload(acc, "d.csv", ambiguous, `{"date_format": "DD/MM/YYYY"}`, http.StatusCreated)
	if staged.Rows[0].Date != "2025-02-01" {
		t.Errorf("DD/MM: %s", staged.Rows[0].Date)
	}
	_, staged = lc.apiUpload(acc, "d.csv", ambiguous, `{"date_column": 0, "date_format": "MM/DD/YYYY", "payee_column": "Description", "amount_column": 2}`, http.StatusCreated)
	if staged.Rows[0].Date != "2025-01-02" || staged.Rows[0].Payee != "Coffee" || staged.Rows[0].AmountMinor != -350 {
		t.Errorf("MM/DD by index: %+v", staged.Rows[0])
	}
	for _, bad := range []string{`{"date_colum": "Date"}`, `[1]`, `{"skip_rows": "x"}`} {
		if msg := apiErrorOf(t, lc.uploadImport("/api/imports", map[string]string{"account_id": ids(acc), "mapping": bad},
			"d.csv", ambiguous, "X-CSRF-Token", lc.csrf)); !strings.HasPrefix(msg, "mapping: ") {
			t.Errorf("mapping %s: %q", bad, msg)
		}
	}
	lc.apiUpload(acc, "d.csv", ambiguous, `{"date_column": "Nope", "date_format": "DD/MM/YYYY"}`, http.StatusUnprocessableEntity)
	lc.apiUpload(0, "d.csv", ambiguous, "", http.StatusBadRequest)
	lc.apiUpload(acc+100, "d.csv", ambiguous, "", http.StatusNotFound)
	lc.apiUpload(acc, "", nil, "", http.StatusUnprocessableEntity)
}

// TestImportFormats: an OFX with FITIDs and a ledger balance, a QFX, a QIF, and the bank CSVs
// (decimal comma and Windows-1252, debit/credit columns, amount with a D/C column, UTF-16).
func TestImportFormats(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	for _, tc := range []struct {
		file, currency string
		ids            bool
	}{
		{"bank_v102.ofx", "USD", true}, {"card_v211.qfx", "USD", true}, {"bank.qif", "USD", false},
		{"de_dkb_girokonto.csv", "EUR", false}, {"de_volksbank_soll_haben.csv", "EUR", false}, {"nl_ing.csv", "EUR", false},
		{"uk_nationwide.csv", "GBP", false}, {"us_card.csv", "USD", false}, {"fr_utf16le.txt", "EUR", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			acc := lc.account(tc.file, tc.currency, "0")
			_, staged := lc.apiUpload(acc, tc.file, testFile(t, tc.file), "", http.StatusCreated)
			if staged.Counts.New == 0 || staged.Counts.Error != 0 {
				t.Fatalf("counts %+v: %+v", staged.Counts, staged.Rows)
			}
			if got := staged.Rows[0].ExternalID != nil; got != tc.ids {
				t.Errorf("bank ids: %v", got)
			}
			var answer commitAnswer
			lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", "", http.StatusOK, &answer)
			// Again: nothing new, by bank id or by date, amount and payee.
			_, again := lc.apiUpload(acc, "again-"+tc.file, append(testFile(t, tc.file), '\n'), "", http.StatusCreated)
			if again.Counts.New != 0 || again.Counts.Duplicate != staged.Counts.New {
				t.Errorf("again: %+v", again.Counts)
			}
		})
	}
	// The statement's ledger balance is compared with the account's on its date.
	acc := lc.account("Statement", "USD", "0")
	_, staged := lc.apiUpload(acc, "bank.ofx", testFile(t, "bank_v102.ofx"), "", http.StatusCreated)
	if staged.Statement == nil || staged.Statement.Date == "" {
		t.Fatalf("no statement balance: %+v", staged)
	}
	preview := lc.get("/imports/" + ids(staged.ID))
	if s := text(preview, "#statement-check"); !strings.Contains(s, "The statement's balance on "+staged.Statement.Date) ||
		(staged.Statement.DifferenceMinor != 0) != strings.Contains(s, "Difference") {
		t.Errorf("statement check %q (difference %d)", s, staged.Statement.DifferenceMinor)
	}
}

func TestImportDuplicatesThroughHTTP(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "100.00")
	commit := func(id uint) commitAnswer {
		var a commitAnswer
		lc.apiPost("/api/imports/"+ids(id)+"/commit", "", http.StatusOK, &a)
		return a
	}

	// Two real 3.50 coffees on one day both import.
	coffees := []byte("Date,Payee,Amount\n2026-11-20,Coffee,-3.50\n2026-11-20,Coffee,-3.50\n")
	_, staged := lc.apiUpload(acc, "nov.csv", coffees, "", http.StatusCreated)
	if staged.Counts.New != 2 || commit(staged.ID).Written != 2 {
		t.Fatalf("two coffees: %+v", staged.Counts)
	}
	// An overlapping statement adds only its new rows: the third coffee of that day is new.
	overlap := []byte("Date,Payee,Amount\n2026-11-20,COFFEE,-3.50\n2026-11-20,coffee ,-3.50\n2026-11-20,Coffee,-3.50\n2026-11-21,Lunch,-12.00\n")
	_, staged = lc.apiUpload(acc, "nov2.csv", overlap, "", http.StatusCreated)
	if staged.Counts != (ledger.ImportCounts{New: 2, Duplicate: 2}) || staged.Rows[1].Status != "duplicate" || staged.Rows[2].Status != "new" ||
		commit(staged.ID).Written != 2 {
		t.Errorf("overlap: %+v %+v", staged.Counts, staged.Rows)
	}
	// The same file twice imports nothing and says so.
	_, staged = lc.apiUpload(acc, "nov.csv", coffees, "", http.StatusCreated)
	if staged.Counts.Duplicate != 2 || !strings.Contains(staged.Message, "imported into the account on 2026-11-23") {
		t.Errorf("same file: %+v %q", staged.Counts, staged.Message)
	}
	if a := commit(staged.ID); a.Written != 0 || a.Duplicates != 2 {
		t.Errorf("same file commit %+v", a)
	}

	// Tally's own export, imported into the account it came from, adds nothing: a payee that
	// would run in a spreadsheet is escaped in the file and unescaped on the way back.
	wantStatus(t, lc.tx(acc, "2026-11-22", "=HYPERLINK(\"x\")", "-1.00"), http.StatusSeeOther)
	wantStatus(t, lc.tx(acc, "2026-11-22", "Café ünïcode", "2.00", "memo", "+note"), http.StatusSeeOther)
	export := lc.get("/transactions/export.csv?account_id=" + ids(acc))
	wantStatus(t, export, http.StatusOK)
	if ct := export.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.HasPrefix(export.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("headers %q %q", ct, export.Header.Get("Content-Disposition"))
	}
	lines := strings.Split(strings.TrimSpace(export.body), "\n")
	if lines[0] != "Date,Payee,Memo,Category,Amount,Account" || len(lines) != 1+7 {
		t.Fatalf("export:\n%s", export.body)
	}
	if !strings.Contains(export.body, `'=HYPERLINK(""x"")`) || !strings.Contains(export.body, "'+note") || !strings.Contains(export.body, "Café ünïcode") {
		t.Errorf("escapes and UTF-8:\n%s", export.body)
	}
	before := lc.ledgerRows()
	_, staged = lc.apiUpload(acc, "export.csv", []byte(export.body), "", http.StatusCreated)
	if staged.Counts.New != 0 || staged.Counts.Duplicate != 7 || commit(staged.ID).Written != 0 || lc.ledgerRows() != before {
		t.Errorf("round trip: %+v", staged.Counts)
	}
	// The export follows the list's filters.
	filtered := lc.get("/transactions/export.csv?q=coffee&to=2026-11-20")
	if n := len(strings.Split(strings.TrimSpace(filtered.body), "\n")); n != 4 {
		t.Errorf("filtered export:\n%s", filtered.body)
	}
	wantStatus(t, lc.get("/transactions/export.csv?from=2026-13-01"), http.StatusBadRequest)
}

func TestImportPossibleMatch(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	wantStatus(t, lc.tx(acc, "2026-11-18", "Groceries", "-42.10"), http.StatusSeeOther)

	id, preview := lc.importCSV(acc, "m.csv", []byte("Date,Payee,Amount\n2026-11-20,SUPERMARKET 42,-42.10\n"))
	row := preview.doc.Find("#line-2")
	if got := strings.Join(strings.Fields(row.Find(".match").Text()), " "); got != "Typed: 2026-11-18 Groceries -42.10" {
		t.Errorf("typed row beside it: %q", got)
	}
	if _, ticked := row.Find("#same-2").Attr("checked"); ticked || text(preview, "#count-possible") != "1" {
		t.Error("a possible match is ticked as the same transaction by itself")
	}
	// Never merged on its own: confirmed as it is, both rows stay.
	wantStatus(t, lc.post("/imports/"+ids(id)+"/commit", formOf(preview.doc, "#import-choices")), http.StatusSeeOther)
	if lc.ledgerRows() != 2 {
		t.Errorf("%d rows", lc.ledgerRows())
	}
	// Ticked as the same transaction, it is not written.
	wantStatus(t, lc.tx(acc, "2026-11-22", "Dinner", "-60.00"), http.StatusSeeOther)
	id, preview = lc.importCSV(acc, "m2.csv", []byte("Date,Payee,Amount\n2026-11-21,RESTAURANT,-60.00\n"))
	choices := formOf(preview.doc, "#import-choices")
	choices.Set("same", "2")
	wantStatus(t, lc.post("/imports/"+ids(id)+"/commit", choices), http.StatusSeeOther)
	if lc.ledgerRows() != 3 || lc.balance(acc) != -42_10*2-60_00 {
		t.Errorf("%d rows, balance %d", lc.ledgerRows(), lc.balance(acc))
	}
}

func TestImportUndo(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "10.00")
	wantStatus(t, lc.tx(acc, "2026-11-02", "Typed by hand", "-1.00"), http.StatusSeeOther)
	_, staged := lc.apiUpload(acc, "u.csv", []byte("Date,Payee,Amount\n2026-11-10,A,-1.00\n2026-11-11,B,-2.00\n2026-11-12,C,-4.00\n"), "", http.StatusCreated)
	lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", "", http.StatusOK, nil)
	balance := lc.balance(acc)

	// Days later one row is edited.
	lc.later(72 * time.Hour)
	var c ledger.Row
	p, err := lc.importBook().ImportedRows(staged.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range p.Rows {
		if r.Payee == "B" {
			c = r
		}
	}
	wantStatus(t, lc.post("/transactions/"+ids(c.ID), txValues(acc, "2026-11-11", "B edited", "-2.50")), http.StatusSeeOther)

	lc.later(72 * time.Hour)
	page := lc.get("/imports/" + ids(staged.ID) + "/undo")
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find("#edited-rows tr[id^=tx-]").Length() != 1 || !strings.Contains(text(page, "#edited-rows"), "B edited") {
		t.Errorf("edited rows: %q", text(page, "#edited-rows"))
	}
	res := lc.post("/imports/"+ids(staged.ID)+"/undo", nil)
	wantStatus(t, res, http.StatusSeeOther)
	list := lc.get(res.Header.Get("Location"))
	if got := text(list, ".alert-ok"); got != "Undid the import of u.csv: removed 2 rows. Kept 1 row edited since." {
		t.Errorf("flash %q", got)
	}
	if got := text(list, "#import-"+ids(staged.ID)+" td[data-label=State]"); got != "Undone" {
		t.Errorf("listed as %q", got)
	}
	if lc.ledgerRows() != 3 || lc.balance(acc) != balance+5_00-50 {
		t.Errorf("%d rows, balance %d", lc.ledgerRows(), lc.balance(acc))
	}
	wantStatus(t, lc.post("/imports/"+ids(staged.ID)+"/undo", nil), http.StatusConflict)

	// Confirmed, the edited rows go too.
	_, staged = lc.apiUpload(acc, "u2.csv", []byte("Date,Payee,Amount\n2026-11-15,D,-8.00\n"), "", http.StatusCreated)
	lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", "", http.StatusOK, nil)
	lc.later(time.Hour)
	p, _ = lc.importBook().ImportedRows(staged.ID, "", 10)
	wantStatus(t, lc.post("/transactions/"+ids(p.Rows[0].ID), txValues(acc, "2026-11-15", "D edited", "-8.00")), http.StatusSeeOther)
	lc.later(30 * 24 * time.Hour)
	wantStatus(t, lc.post("/imports/"+ids(staged.ID)+"/undo", url.Values{"remove_edited": {"on"}}), http.StatusSeeOther)
	if lc.ledgerRows() != 3 {
		t.Errorf("%d rows after undoing with the edited ones", lc.ledgerRows())
	}
}

// TestImportBadInput: each bad file gets a sentence, never a 500, and nothing reaches the ledger.
func TestImportBadInput(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	before := lc.ledgerRows()
	for _, tc := range []struct {
		file string
		data []byte
		// the upload's sentence (refused) or the error rows' lines and a word of their reason
		refused string
		errors  map[int]string
	}{
		{file: "statement.png", refused: "image"},
		{file: "empty.csv", refused: "empty"},
		{file: "header_only.csv", refused: "no"},
		{file: "nul.csv", data: []byte("Date,Payee,Amount\n2026-01-01,A\x00B,-1.00\n\x00\x00\x00\x00"), refused: "text"},
		{file: "ragged.csv", errors: map[int]string{3: "", 5: ""}},
		{file: "impossible_date.csv", errors: map[int]string{3: "2025-02-30"}},
		{file: "too_many_decimals.csv", errors: map[int]string{2: "3 decimals"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := tc.data
			if data == nil {
				data = testFile(t, tc.file)
			}
			res := lc.uploadImport("/import", map[string]string{"account_id": ids(acc)}, tc.file, data)
			if tc.refused != "" {
				wantStatus(t, res, http.StatusUnprocessableEntity)
				if msg := text(res, "#import-file-error"); !strings.Contains(strings.ToLower(msg), tc.refused) || !strings.HasSuffix(msg, ".") {
					t.Errorf("sentence %q", msg)
				}
				msg := apiErrorOf(t, lc.uploadImport("/api/imports", map[string]string{"account_id": ids(acc)}, tc.file, data, "X-CSRF-Token", lc.csrf))
				if msg == "" {
					t.Error("no sentence from the API")
				}
				return
			}
			id := importIDOf(t, res)
			mapPage := lc.get("/imports/" + ids(id) + "/map")
			wantStatus(t, mapPage, http.StatusOK)
			wantStatus(t, lc.post("/imports/"+ids(id)+"/map", formOf(mapPage.doc, "#map-form")), http.StatusSeeOther)
			preview := lc.get("/imports/" + ids(id) + "?status=error")
			wantStatus(t, preview, http.StatusOK)
			if got := text(preview, "#count-error"); got != strconv.Itoa(len(tc.errors)) {
				t.Errorf("%s errors: %s", got, text(preview, "#preview-table"))
			}
			for line, word := range tc.errors {
				msg := text(preview, "#line-"+strconv.Itoa(line)+" .field-error")
				if msg == "" || !strings.Contains(msg, word) {
					t.Errorf("line %d: %q", line, msg)
				}
			}
		})
	}
	if lc.ledgerRows() != before {
		t.Errorf("bad files wrote %d rows", lc.ledgerRows()-before)
	}
	if strings.Contains(ta.logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", ta.logs.String())
	}
}

func TestImportLimits(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	var rows bytes.Buffer
	rows.WriteString("Date,Payee,Amount\n")
	for range 50_001 {
		rows.WriteString("2026-01-01,P,-1\n")
	}
	res := lc.uploadImport("/import", map[string]string{"account_id": ids(acc)}, "big.csv", rows.Bytes())
	wantStatus(t, res, http.StatusRequestEntityTooLarge)
	if msg := text(res, "#import-file-error"); !strings.Contains(msg, "more than 50,000 rows") || !strings.Contains(msg, "5 MiB") {
		t.Errorf("413 says %q", msg)
	}
	res = lc.uploadImport("/api/imports", map[string]string{"account_id": ids(acc)}, "big.csv", rows.Bytes(), "X-CSRF-Token", lc.csrf)
	wantStatus(t, res, http.StatusRequestEntityTooLarge)
	if msg := apiErrorOf(t, res); !strings.Contains(msg, "50,000 rows") || !strings.Contains(msg, "5 MiB") {
		t.Errorf("API 413 says %q", msg)
	}
	// Over 5 MiB: refused by the server before the handler (app.Test cannot show it), or by the
	// handler.
	base := ta.listen()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", lc.csrf)
	_ = w.WriteField("account_id", ids(acc))
	p, _ := w.CreateFormFile("file", "huge.csv")
	_, _ = p.Write(bytes.Repeat([]byte("2026-01-01,Payee,-1.00\n"), 5<<20/23+1))
	_ = w.Close()
	// The server may answer before reading the whole body: the body goes from a goroutine.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var cookies []string
	for _, ck := range lc.jar.Cookies(testBase) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	fmt.Fprintf(conn, "POST /import HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		strings.TrimPrefix(base, "http://"), strings.Join(cookies, "; "), w.FormDataContentType(), body.Len())
	go func() { _, _ = conn.Write(body.Bytes()) }()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	huge, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	huge.Body.Close()
	if huge.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over 5 MiB: status %d", huge.StatusCode)
	}
	if n := lc.ledgerRows(); n != 0 {
		t.Errorf("%d rows", n)
	}
	var staged int
	_ = ta.db.Raw(`SELECT COUNT(*) FROM imports`).Scan(&staged)
	if staged != 0 {
		t.Errorf("%d imports kept", staged)
	}
}

// TestImportTenancy: another user's import answers like one that does not exist.
func TestImportTenancy(t *testing.T) {
	ta := newTestApp(t)
	ada := ta.ledgerUser(t, "ada")
	acc := ada.account("Checking", "USD", "0")
	_, staged := ada.apiUpload(acc, "a.csv", []byte("Date,Payee,Amount\n2026-11-01,A,-1.00\n"), "", http.StatusCreated)
	_, committed := ada.apiUpload(acc, "b.csv", []byte("Date,Payee,Amount\n2026-11-02,B,-1.00\n"), "", http.StatusCreated)
	ada.apiPost("/api/imports/"+ids(committed.ID)+"/commit", "", http.StatusOK, nil)

	bob := ta.ledgerUser(t, "bob")
	bob.account("Mine", "USD", "0")
	bob.get("/import")
	for _, id := range []uint{staged.ID, committed.ID, 9999} {
		p := "/imports/" + ids(id)
		for _, path := range []string{p, p + "/map", p + "/rows", p + "/undo"} {
			wantStatus(t, bob.get(path), http.StatusNotFound)
		}
		for _, path := range []string{p + "/map", p + "/choices", p + "/commit", p + "/cancel", p + "/undo"} {
			wantStatus(t, bob.post(path, url.Values{"new_lines": {"2"}}), http.StatusNotFound)
		}
		bob.apiPost("/api"+p+"/commit", "", http.StatusNotFound, nil)
		bob.apiPost("/api"+p+"/undo", "", http.StatusNotFound, nil)
	}
	bob.apiUpload(acc, "x.csv", []byte("Date,Payee,Amount\n2026-11-02,B,-1.00\n"), "", http.StatusNotFound)
	wantStatus(t, bob.uploadImport("/import", map[string]string{"account_id": ids(acc)}, "x.csv", []byte("Date,Amount\n2026-11-02,-1.00\n")), http.StatusNotFound)
	var list []apiImport
	apiGet(t, bob.client, "/api/imports", http.StatusOK, &list)
	if len(list) != 0 {
		t.Errorf("bob sees %+v", list)
	}
	if im, err := ada.importBook().Import(staged.ID); err != nil || im.Status != ledger.ImportStaged {
		t.Errorf("ada's staged import: %v", err)
	}
	if ada.ledgerRows() != 1 {
		t.Errorf("ada has %d rows", ada.ledgerRows())
	}
}

// TestImportStagedExpire: an import nobody confirmed is gone after a day.
func TestImportStagedExpire(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	_, staged := lc.apiUpload(acc, "a.csv", []byte("Date,Payee,Amount\n2026-11-01,A,-1.00\n"), "", http.StatusCreated)
	lc.later(ledger.StagedTTL + time.Minute)
	wantStatus(t, lc.get("/imports/"+ids(staged.ID)), http.StatusNotFound)
	lc.apiPost("/api/imports/"+ids(staged.ID)+"/commit", "", http.StatusNotFound, nil)
	lc.apiUpload(acc, "b.csv", []byte("Date,Payee,Amount\n2026-11-02,B,-1.00\n"), "", http.StatusCreated)
	var n int
	_ = ta.db.Raw(`SELECT COUNT(*) FROM imports WHERE id = ?`, staged.ID).Scan(&n)
	if n != 0 {
		t.Error("the day-old staged import is still stored")
	}
}

// BenchmarkImport50k takes a 50,000-row CSV through the API: upload to the preview's answer,
// and confirm to committed, each timed, with the process's peak RSS.
func BenchmarkImport50k(b *testing.B) {
	ta := newTestApp(b)
	u := ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)
	c.get("/accounts")
	book := ledgerBook(b, ta, u.ID)
	acc := seedAccount(b, book, "Checking", "USD", 0).ID
	var csv bytes.Buffer
	csv.WriteString("Date,Payee,Amount\n")
	day := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 50_000 {
		fmt.Fprintf(&csv, "%s,Shop %d,-%d.%02d\n", day.AddDate(0, 0, i/40).Format(time.DateOnly), i%997, i%300, i%100)
	}
	b.Logf("file: %d bytes", csv.Len())
	for b.Loop() {
		start := time.Now()
		res := c.uploadImport("/api/imports", map[string]string{"account_id": ids(acc)}, "big.csv", csv.Bytes(), "X-CSRF-Token", c.csrf)
		if res.StatusCode != http.StatusCreated {
			b.Fatalf("upload: %d %s", res.StatusCode, trim(res.body))
		}
		upload := time.Since(start)
		var staged apiStaged
		if err := json.Unmarshal([]byte(res.body), &staged); err != nil || staged.Counts.New != 50_000 {
			b.Fatalf("staged %+v %v", staged.Counts, err)
		}
		start = time.Now()
		req, _ := http.NewRequest(http.MethodPost, testBase.String()+"api/imports/"+ids(staged.ID)+"/commit", nil)
		req.Header.Set("X-CSRF-Token", c.csrf)
		if res := c.do(req); res.StatusCode != http.StatusOK {
			b.Fatalf("commit: %d %s", res.StatusCode, res.body)
		}
		b.ReportMetric(upload.Seconds(), "upload-s")
		b.ReportMetric(time.Since(start).Seconds(), "commit-s")
		if _, err := book.UndoImport(staged.ID, true); err != nil {
			b.Fatal(err)
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
}

// TestImportMapProblems: a choice that does not fit the file is said beside its field, with
// the file's columns still offered; a tab-separated file keeps its delimiter through the form;
// dates that fit two formats are asked.
func TestImportMapProblems(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Checking", "USD", "0")
	res := lc.uploadImport("/import", map[string]string{"account_id": ids(acc)}, "tabs.tsv",
		[]byte("Date\tPayee\tAmount\n2026-11-01\tShop\t-1.00\n2026-11-02\tShop\t-2.00\n"))
	id := importIDOf(t, res)
	mapPage := lc.get("/imports/" + ids(id) + "/map")
	if got := selected(mapPage, "delimiter"); got != `\t` {
		t.Errorf("delimiter %q", got)
	}
	form := formOf(mapPage.doc, "#map-form")
	bad := cloneValues(form)
	bad.Set("date_column", "Payee")
	bad.Set("skip_rows", "many")
	res = lc.post("/imports/"+ids(id)+"/map", bad)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if res.doc.Find("#form-error").Length() != 1 || text(res, "#skip_rows-error") == "" || res.doc.Find("#date_column option").Length() != 4 {
		t.Errorf("errors %q, %d column options", text(res, ".field-error"), res.doc.Find("#date_column option").Length())
	}
	if lc.ledgerRows() != 0 {
		t.Error("a refused mapping wrote rows")
	}
	wantStatus(t, lc.post("/imports/"+ids(id)+"/map", form), http.StatusSeeOther)
	preview := lc.get("/imports/" + ids(id))
	if text(preview, "#count-new") != "2" {
		t.Errorf("tab-separated file: %q", text(preview, "#import-counts"))
	}

	res = lc.uploadImport("/import", map[string]string{"account_id": ids(acc)}, "d.csv", testFile(t, "ambiguous_dates.csv"))
	id = importIDOf(t, res)
	mapPage = lc.get("/imports/" + ids(id) + "/map")
	if msg := text(mapPage, "#date_format-error"); !strings.Contains(msg, "choose the file's") {
		t.Errorf("ambiguous dates: %q", msg)
	}
	if note := text(mapPage, "#import-map .alert-info"); !strings.Contains(note, "do not fit this file") {
		t.Errorf("the saved mapping (tabs) was used without a word: %q", note)
	}
	wantStatus(t, lc.post("/imports/"+ids(id)+"/map", formOf(mapPage.doc, "#map-form")), http.StatusUnprocessableEntity)
	form = formOf(mapPage.doc, "#map-form")
	form.Set("date_format", "DD/MM/YYYY")
	wantStatus(t, lc.post("/imports/"+ids(id)+"/map", form), http.StatusSeeOther)
	if got := text(lc.get("/imports/"+ids(id)), "#line-2 td[data-label=Date]"); got != "2025-02-01" {
		t.Errorf("date read %q", got)
	}
}
