package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tally/importer"
)

// Rows of the import's CSV: the 50,000 (importer.MaxRows), 5,000 with -quick.
const (
	importRows      = importer.MaxRows
	importRowsQuick = 5_000
)

// importRun is the import measurement: a bank CSV the bench writes, uploaded through
// POST /api/imports into a new account of the ledger's user (upload to the preview's answer),
// then committed through POST /api/imports/{id}/commit (confirm to the committed answer), with
// the server's peak RSS during each.
type importRun struct {
	rows, bytes int
	account     string
	upload      *runStats // one request: its latency, the server's peak RSS and the CPU meanwhile
	commit      *runStats
	counts      map[string]int // the preview's counts (new, duplicate, possible_match, error)
	written     int
	skipped     int
	duplicates  int
}

// importClient waits for the two import answers far longer than the 3 s target, so a slow
// answer is measured rather than cut off.
var importClient = &http.Client{
	Timeout:       2 * time.Minute,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// importAccount is the name of the account the CSV goes into, new in each run's data dir.
const importAccount = "Bench import"

// importScenario signs in as the ledger's user, adds a USD checking account through
// POST /accounts (not measured), and times the upload and the commit of a rows-row CSV.
func importScenario(ctx context.Context, srv *proc, ls *ledgerSeed, rows int) (*importRun, error) {
	cookie, err := loginOnce(srv.base, ls.index)
	if err != nil {
		return nil, err
	}
	page, err := signedInGet(srv.base+"/accounts", cookie)
	if err != nil {
		return nil, err
	}
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("GET /accounts: no form with a CSRF token")
	}
	csrf := string(m[1])
	accountID, err := createAccount(srv.base, cookie, csrf)
	if err != nil {
		return nil, err
	}
	csv := importCSV(rows, time.Now())
	body, contentType, err := importForm(csv, accountID)
	if err != nil {
		return nil, err
	}
	run := &importRun{rows: rows, bytes: len(csv), account: importAccount}
	progress("import: a %s-row CSV (%.1f MB) through POST /api/imports, then its commit", thousands(rows), float64(len(csv))/1e6)

	var staged struct {
		ID     uint           `json:"id"`
		Counts map[string]int `json:"counts"`
	}
	run.upload, err = timedPost(ctx, srv, "import upload", srv.base+"/api/imports", contentType, body, cookie, csrf, http.StatusCreated, &staged)
	if err != nil {
		return nil, err
	}
	run.counts = staged.Counts
	if staged.ID == 0 {
		return nil, fmt.Errorf("POST /api/imports: no import id in the answer")
	}
	var committed struct {
		Written    int `json:"written"`
		Skipped    int `json:"skipped"`
		Duplicates int `json:"duplicates"`
	}
	u := srv.base + "/api/imports/" + strconv.FormatUint(uint64(staged.ID), 10) + "/commit"
	run.commit, err = timedPost(ctx, srv, "import commit", u, "application/json", []byte(`{}`), cookie, csrf, http.StatusOK, &committed)
	if err != nil {
		return nil, err
	}
	run.written, run.skipped, run.duplicates = committed.Written, committed.Skipped, committed.Duplicates
	if run.written == 0 {
		return nil, fmt.Errorf("import commit wrote no rows (preview counts %v)", run.counts)
	}
	return run, ctx.Err()
}

// createAccount adds the import's account through POST /accounts and returns its id, from the
// 303's Location (/accounts/{id}).
func createAccount(base, cookie, csrf string) (uint, error) {
	form := url.Values{"_csrf": {csrf}, "name": {importAccount}, "kind": {"checking"}, "currency": {"USD"}}
	req, err := http.NewRequest(http.MethodPost, base+"/accounts", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", sessionCookie+"="+cookie)
	resp, err := plainClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	id, err := strconv.ParseUint(strings.TrimPrefix(loc, "/accounts/"), 10, 64)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/accounts/") || err != nil || id == 0 {
		return 0, fmt.Errorf("POST /accounts: status %d, Location %q, want 303 to /accounts/{id}", resp.StatusCode, loc)
	}
	return uint(id), nil
}

// importForm is the multipart body of the upload: file and account_id, as the README's curl.
func importForm(csv []byte, accountID uint) ([]byte, string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("account_id", strconv.FormatUint(uint64(accountID), 10)); err != nil {
		return nil, "", err
	}
	f, err := w.CreateFormFile("file", "bank-export.csv")
	if err != nil {
		return nil, "", err
	}
	if _, err := f.Write(csv); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// timedPost sends one signed-in POST with the CSRF header, times it from the send to the last
// byte of the answer, samples the server's RSS meanwhile, and decodes the JSON answer into out.
func timedPost(ctx context.Context, srv *proc, name, u, contentType string, body []byte, cookie, csrf string, want int, out any) (*runStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Cookie", sessionCookie+"="+cookie)
	req.Header.Set("X-CSRF-Token", csrf)
	st := newStats(name, 0)
	rss := sampleRSS(srv.pid())
	st.start = time.Now()
	resp, err := importClient.Do(req)
	var answer []byte
	if err == nil {
		answer, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	st.end = time.Now()
	st.rssMiB, st.fds, st.cpu = rss.stop()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	st.codes[resp.StatusCode]++
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s: status %d, want %d: %.300s", name, resp.StatusCode, want, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	st.ok, st.lat = 1, []time.Duration{st.end.Sub(st.start)}
	return st, nil
}

// Payees of the import's CSV as a bank prints them, with the memo their rows carry and their
// amounts' range in dollars (negative: money out).
var importPayees = []struct {
	payee, memo string
	lo, hi      float64
}{
	{"WHOLE FOODS MARKET #10234", "POS PURCHASE", -180, -12},
	{"TRADER JOE'S #552", "POS PURCHASE", -120, -8},
	{"SAFEWAY STORE 1187", "DEBIT CARD PURCHASE", -150, -6},
	{"COSTCO WHSE #0479", "DEBIT CARD PURCHASE", -420, -35},
	{"AMAZON.COM*2K4LM81Q3", "ONLINE PURCHASE AMZN.COM/BILL WA", -250, -5},
	{"STARBUCKS STORE 08812", "CARD PURCHASE", -14, -3},
	{"BLUE BOTTLE COFFEE", "CARD PURCHASE", -18, -4},
	{"CHIPOTLE 1963", "CARD PURCHASE", -32, -9},
	{"SHELL OIL 57442173", "FUEL PURCHASE", -85, -25},
	{"CHEVRON 0209874", "FUEL PURCHASE", -90, -20},
	{"UBER   *TRIP", "HELP.UBER.COM CA", -65, -7},
	{"LYFT   *RIDE THU 8PM", "LYFT.COM CA", -48, -6},
	{"NETFLIX.COM", "RECURRING PAYMENT", -22.99, -15.49},
	{"SPOTIFY USA", "RECURRING PAYMENT", -16.99, -10.99},
	{"PG&E WEB ONLINE", "ACH DEBIT UTILITY PAYMENT", -260, -60},
	{"COMCAST CABLE COMM", "ACH DEBIT", -140, -80},
	{"VERIZON WIRELESS", "ACH DEBIT PAYMENTS", -180, -70},
	{"CVS/PHARMACY #09123", "DEBIT CARD PURCHASE", -75, -4},
	{"WALGREENS #4411", "DEBIT CARD PURCHASE", -60, -3},
	{"TARGET 00028852", "POS PURCHASE", -220, -9},
	{"HOME DEPOT #1052", "POS PURCHASE", -480, -12},
	{"IKEA EAST PALO ALTO", "POS PURCHASE", -650, -20},
	{"DELTA AIR 0062371928", "AIRLINE TICKET", -780, -150},
	{"MARRIOTT SAN DIEGO", "HOTEL", -900, -180},
	{"PLANET FITNESS", "CLUB FEES", -24.99, -10},
	{"GEICO *AUTO", "ACH DEBIT INSURANCE", -190, -110},
	{"CITY OF OAKLAND PARKING", "PARKING METER", -12, -2},
	{"VENMO", "PAYMENT TO J SMITH", -300, -10},
	{"ZELLE TO GARCIA, MARIA", "ZELLE PAYMENT", -800, -20},
	{"ATM WITHDRAWAL 004417", "CASH 1ST ST & MAIN", -200, -20},
	{"CHECK 1042", "CHECK PAID", -1500, -50},
	{"ACME CORP PAYROLL", "DIRECT DEP PPD", 2400, 3800},
	{"IRS TREAS 310", "TAX REF", 150, 2200},
	{"INTEREST PAYMENT", "INTEREST EARNED", 0.12, 9.8},
	{"VENMO CASHOUT", "TRANSFER FROM VENMO", 15, 400},
	{"AMAZON.COM REFUND", "RETURN CREDIT", 8, 120},
}

// importCSV is a bank export of rows rows: Date,Payee,Memo,Amount, newest last, dated over
// the three years to yesterday, payees with their memos, a reference number and card digits,
// and amounts with cents. Fields with a comma or a quote are quoted. The same rows and
// about 85 bytes a row for a given rows and day.
func importCSV(rows int, now time.Time) []byte {
	r := rand.New(rand.NewPCG(23, uint64(rows)))
	end := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	start := end.AddDate(-3, 0, 0)
	days := int(end.Sub(start).Hours()/24) + 1
	var b bytes.Buffer
	b.Grow(rows * 90)
	b.WriteString("Date,Payee,Memo,Amount\r\n")
	for i := range rows {
		p := importPayees[r.IntN(len(importPayees))]
		if r.IntN(4) > 0 && p.lo < 0 && p.hi-p.lo > 50 { // most spending is everyday spending
			p = importPayees[r.IntN(12)]
		}
		day := start.AddDate(0, 0, i*days/rows)
		cents := int64(p.lo*100) + r.Int64N(int64((p.hi-p.lo)*100)+1)
		if cents == 0 {
			cents = -1
		}
		memo := fmt.Sprintf("%s %s REF %08d CARD %04d", p.memo, day.Format("01/02"), r.IntN(1e8), 1000+r.IntN(9000))
		b.WriteString(day.Format("2006-01-02"))
		b.WriteByte(',')
		writeCSVField(&b, p.payee)
		b.WriteByte(',')
		writeCSVField(&b, memo)
		b.WriteByte(',')
		b.WriteString(formatCents(cents))
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func writeCSVField(b *bytes.Buffer, s string) {
	if !strings.ContainsAny(s, ",\"") {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(s, `"`, `""`))
	b.WriteByte('"')
}

// formatCents is -1234 as -12.34.
func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
