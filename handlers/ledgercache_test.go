package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/models"
	"tally/models/ledger"
	"tally/testkit/testdb"
	"tally/views"
)

// registerPayees is the payees of a register page's rows, newest first.
func registerPayees(doc *goquery.Document) []string {
	var out []string
	doc.Find("tr[id^=tx-] .payee").Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
	return out
}

// TestRegisterIsNeverStale: a register page seen once (and kept) shows every change made since,
// whoever made it: this app, the command line (a process with its own database handle) or a
// page of another kind; and the next day's add row has the next day's date.
func TestRegisterIsNeverStale(t *testing.T) {
	ta := newTestApp(t, "TALLY_SESSION_IDLE", "48h") // the session outlives a new day
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "100.00")
	path := "/accounts/" + ids(checking)
	wantStatus(t, lc.tx(checking, "2026-11-20", "Bakery", "-3.50"), http.StatusSeeOther)
	for _, tc := range []struct {
		name   string
		change func()
		check  func(t *testing.T, res *response)
	}{
		{"a row added here", func() {
			wantStatus(t, lc.tx(checking, "2026-11-21", "Corner Shop", "-1.25"), http.StatusSeeOther)
		}, func(t *testing.T, res *response) {
			if got := registerPayees(res.doc); len(got) == 0 || got[0] != "Corner Shop" {
				t.Errorf("payees %v, want Corner Shop first", got)
			}
			if got := text(res, "#account-balance"); got != "95.25" {
				t.Errorf("balance %q, want 95.25", got)
			}
		}},
		{"a row changed by another process", func() {
			db, err := models.Open(DatabaseTarget(ta.cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer models.Close(db)
			b, err := ledger.For(db, lc.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			p, err := b.Register(checking, "", 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.UpdateTransaction(p.Rows[0].ID, ledger.TxInput{AccountID: checking, Date: "2026-11-21",
				Payee: "Corner Shop (CLI)", Amount: -2_25}); err != nil {
				t.Fatal(err)
			}
			ta.heardLedger(t, lc.user.ID)
		}, func(t *testing.T, res *response) {
			if got := registerPayees(res.doc); len(got) == 0 || got[0] != "Corner Shop (CLI)" {
				t.Errorf("payees %v, want the command line's edit first", got)
			}
			if got := text(res, "#account-balance"); got != "94.25" {
				t.Errorf("balance %q, want 94.25", got)
			}
		}},
		{"the account renamed", func() {
			wantStatus(t, lc.post(path, url.Values{"name": {"Everyday"}, "kind": {"checking"}}), http.StatusSeeOther)
		}, func(t *testing.T, res *response) {
			if got := text(res, "#account-name"); got != "Everyday" {
				t.Errorf("account name %q", got)
			}
		}},
		{"a category added", func() {
			wantStatus(t, lc.post("/categories", url.Values{"name": {"Books"}, "group": {"Fun"}}), http.StatusSeeOther)
		}, func(t *testing.T, res *response) {
			if res.doc.Find(`#tx-add-category option:contains("Fun: Books")`).Length() != 1 {
				t.Error("the add row does not offer the new category")
			}
		}},
		{"the number format", func() {
			lc.get("/profile/edit")
			wantStatus(t, lc.post("/profile", profileValues("number_format", "1.234,56")), http.StatusSeeOther)
		}, func(t *testing.T, res *response) {
			if got := text(res, "#account-balance"); got != "94,25" {
				t.Errorf("balance %q, want 94,25", got)
			}
		}},
		{"a new day", func() { ta.clock.Advance(12 * time.Hour) }, func(t *testing.T, res *response) {
			if got, _ := res.doc.Find("#tx-add-date").Attr("value"); got != "2026-11-24" {
				t.Errorf("add row dated %q, want 2026-11-24", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lc.get(path) // seen, and kept
			tc.change()
			res := lc.get(path)
			wantStatus(t, res, http.StatusOK)
			tc.check(t, res)
		})
	}
}

// TestRegisterTokensAreTheSessions: two sessions of one user read the same kept register; each
// page's forms carry that session's own CSRF token, which that session's writes are accepted with.
func TestRegisterTokensAreTheSessions(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "100.00")
	for i := range 3 {
		wantStatus(t, lc.tx(checking, "2026-11-2"+string(rune('0'+i)), "Shop", "-1.00"), http.StatusSeeOther)
	}
	other := ta.client()
	other.login("ada", goodPassword)
	path := "/accounts/" + ids(checking)
	tokens := map[string]bool{}
	for _, c := range []*client{lc.client, other, lc.client, other} {
		for _, headers := range [][]string{nil, htmx} {
			res := c.get(path, headers...)
			wantStatus(t, res, http.StatusOK)
			forms := res.doc.Find(`input[name="_csrf"]`)
			if forms.Length() < 4 {
				t.Fatalf("%d tokens on the page", forms.Length())
			}
			forms.Each(func(_ int, s *goquery.Selection) {
				if v, _ := s.Attr("value"); v != c.csrf {
					t.Errorf("a form carries %q, the session's token is %q", v, c.csrf)
				}
			})
			tokens[c.csrf] = true
		}
	}
	if len(tokens) != 2 {
		t.Fatalf("%d different tokens for two sessions", len(tokens))
	}
	wantStatus(t, other.post("/transactions", txValues(checking, "2026-11-23", "From the other session", "-1.00")), http.StatusSeeOther)
	if got := registerPayees(lc.get(path).doc); got[0] != "From the other session" {
		t.Errorf("payees %v", got)
	}
}

// TestRegisterKeptIsTheOwners: a register kept for its owner is not found for anyone else, and
// each of the page's renderings (page, htmx section, next rows) answers its own kind.
func TestRegisterKeptIsTheOwners(t *testing.T) {
	ta := newTestApp(t)
	ada := ta.ledgerUser(t, "ada")
	checking := ada.account("Checking", "USD", "100.00")
	b := ada.book()
	for i := range 60 {
		if _, err := b.AddTransaction(ledger.TxInput{AccountID: checking, Date: "2026-11-15", Payee: "Shop " + ids(uint(i)), Amount: -100}); err != nil {
			t.Fatal(err)
		}
	}
	path := "/accounts/" + ids(checking)
	page := ada.get(path)
	wantStatus(t, page, http.StatusOK)
	next, _ := page.doc.Find("#load-more a").Attr("href")
	for _, tc := range []struct {
		name, path string
		headers    []string
		want       func(body string) bool
	}{
		{"page", path, nil, func(body string) bool { return strings.HasPrefix(strings.ToLower(body), "<!doctype html>") }},
		{"section", path, htmx, func(body string) bool {
			return strings.HasPrefix(body, `<section id="register"`) && strings.Contains(body, `hx-swap-oob="true"`)
		}},
		{"rows", next, []string{"HX-Request", "true", "X-Tally-Rows", "1"}, func(body string) bool {
			return strings.HasPrefix(body, `<tr id="tx-`) && !strings.Contains(body, "<section")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // made, then kept
				res := ada.get(tc.path, tc.headers...)
				wantStatus(t, res, http.StatusOK)
				if !tc.want(res.body) {
					t.Errorf("%s answered %s", tc.name, trim(res.body))
				}
			}
		})
	}
	bob := ta.ledgerUser(t, "bob")
	bob.account("Checking", "USD", "5.00")
	for _, p := range []string{path, next} {
		wantStatus(t, bob.get(p), http.StatusNotFound)
		wantStatus(t, bob.get(p, htmx...), http.StatusNotFound)
	}
}

// TestLedgerCacheKeepsTheNewest: what was built at an older version never replaces a newer
// entry, and pages beyond the size bound push older ones out.
func TestLedgerCacheKeepsTheNewest(t *testing.T) {
	stencil := func(html string) *views.Stencil {
		s, err := views.RenderStencil(t.Context(), views.PayeeOptions([]string{html}))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	lc := newLedgerCache(10, 1000)
	k := pageKey{account: 1}
	lc.putData(7, 5, &ledgerData{})
	lc.putPage(7, 5, k, stencil("five"))
	lc.putPage(7, 4, k, stencil("four")) // a slower request that read the version before a write
	lc.putData(7, 4, &ledgerData{})
	if lc.page(7, 4, k) != nil || lc.data(7, 4) != nil {
		t.Error("an older version's page or data was kept")
	}
	if lc.page(7, 5, k) == nil || lc.data(7, 5) == nil {
		t.Error("the newer version's page or data went")
	}
	lc.putPage(7, 6, pageKey{account: 2}, stencil("six"))
	if lc.page(7, 5, k) != nil || lc.data(7, 5) != nil || lc.page(7, 6, pageKey{account: 2}) == nil {
		t.Error("a newer version did not replace the older")
	}
	for i := range 20 {
		lc.putPage(uint(100+i), 1, k, stencil(strings.Repeat("x", 200)))
	}
	if lc.pageBytes > lc.maxPageBytes {
		t.Errorf("%d bytes of pages kept, bound %d", lc.pageBytes, lc.maxPageBytes)
	}
	if lc.page(119, 1, k) == nil {
		t.Error("the page just kept is gone")
	}
}

// TestKeptPagesFollowWrites: the dashboard and the transaction list, kept like the register,
// show a row written by another process and the name the user goes by; a filter to correct is
// answered each time, never kept.
func TestKeptPagesFollowWrites(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "100.00")
	wantStatus(t, lc.tx(checking, "2026-11-20", "Bakery", "-3.50"), http.StatusSeeOther)
	pages := []struct{ path, rows string }{
		{"/dashboard", "#recent tr[id^=tx-] .payee"},
		{"/transactions", "#tx-table tr[id^=tx-] .payee"},
		{"/transactions?q=shop", "#tx-table tr[id^=tx-] .payee"},
	}
	for _, p := range pages {
		lc.get(p.path)
	}
	db, err := models.Open(DatabaseTarget(ta.cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ledger.For(db, lc.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddTransaction(ledger.TxInput{AccountID: checking, Date: "2026-11-22", Payee: "Corner Shop", Amount: -1_00}); err != nil {
		t.Fatal(err)
	}
	models.Close(db)
	ta.heardLedger(t, lc.user.ID)
	for _, p := range pages {
		res := lc.get(p.path)
		wantStatus(t, res, http.StatusOK)
		if got := strings.TrimSpace(res.doc.Find(p.rows).First().Text()); got != "Corner Shop" {
			t.Errorf("%s: first row %q, want the other process's Corner Shop", p.path, got)
		}
	}

	// A new name moves no ledger version (staff may rename a user).
	if err := ta.db.Exec(`UPDATE users SET first_name = 'Augusta' WHERE id = ?`, lc.user.ID).Error; err != nil {
		t.Fatal(err)
	}
	if got := text(lc.get("/dashboard"), "h1"); got != "Hello, Augusta" {
		t.Errorf("dashboard greets %q", got)
	}

	for range 2 {
		res := lc.get("/transactions?from=2026-02-30")
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if text(res, "#from-error") == "" {
			t.Error("an impossible date has no message beside its field")
		}
	}
}

// heardLedger waits until the app holds no version of userID older than the database's: on
// Postgres, a write made through another handle reaches it by notification (within
// milliseconds; the bound is a second). On SQLite there is nothing to wait for.
func (ta *testApp) heardLedger(t *testing.T, userID uint) {
	t.Helper()
	b, err := ledger.For(ta.db, userID)
	if err != nil {
		t.Fatal(err)
	}
	want, err := b.Version()
	if err != nil {
		t.Fatal(err)
	}
	within(t, time.Second, "the ledger version written elsewhere", func() bool {
		v, ok := ta.h.ledgerCache.versions.known(userID)
		return !ok || v >= want
	})
}

// within polls ok until it holds, failing the test after d; it returns how long it took.
func within(t *testing.T, d time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > d {
			t.Fatalf("%s: not seen within %v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

// firstPayee is the payee of the dashboard's newest row.
func firstPayee(c *client) string {
	return strings.TrimSpace(c.get("/dashboard").doc.Find("#recent tr[id^=tx-] .payee").First().Text())
}

// TestLedgerVersionsHearEveryWriter: on Postgres a ledger page view knows the version without a
// query while the listener is trusted; a write through another instance or by raw SQL on
// another connection is seen within a second of its commit and not before, this instance's own
// write at its very next view, and while the listener is down or stuck every view reads the
// version again.
func TestLedgerVersionsHearEveryWriter(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("Postgres only: on SQLite every view reads the version")
	}
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "100.00")
	wantStatus(t, lc.tx(checking, "2026-11-20", "Bakery", "-3.50"), http.StatusSeeOther)
	peers := ta.h.ledgerCache.versions.peers
	if peers == nil {
		t.Fatal("no peers on Postgres")
	}
	db2, err := models.Open(DatabaseTarget(ta.cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(db2) })
	if got := firstPayee(lc.client); got != "Bakery" {
		t.Fatalf("first payee %q", got)
	}
	if _, ok := ta.h.ledgerCache.versions.known(lc.user.ID); !ok {
		t.Fatal("the version read by a view is not kept")
	}

	t.Run("another instance", func(t *testing.T) {
		tx := db2.Begin()
		b, err := ledger.For(tx, lc.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.AddTransaction(ledger.TxInput{AccountID: checking, Date: "2026-11-21", Payee: "Other Instance", Amount: -1_00}); err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if got := firstPayee(lc.client); got != "Bakery" {
			t.Errorf("before the commit the first payee is %q", got)
		}
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		d := within(t, time.Second, "another instance's write", func() bool { return firstPayee(lc.client) == "Other Instance" })
		t.Logf("seen after %v", d)
	})

	t.Run("raw SQL on another connection", func(t *testing.T) {
		if err := db2.Exec(`INSERT INTO transactions (user_id, account_id, date, payee, amount, created_at, updated_at)
			VALUES (?, ?, '2026-11-22', 'From psql', -100, now(), now())`, lc.user.ID, checking).Error; err != nil {
			t.Fatal(err)
		}
		d := within(t, time.Second, "a raw insert", func() bool { return firstPayee(lc.client) == "From psql" })
		t.Logf("seen after %v", d)
	})

	// stuck holds the listener inside its next ledger notification (after the versions heard
	// it) until the test ends: the instance hears nothing more, as if its connection were silently
	// dead.
	stuckUsers := 0
	stuck := func(t *testing.T) {
		t.Helper()
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		peers.Follow(models.TopicLedger, func(string) {
			once.Do(func() {
				close(entered)
				<-release
			})
		})
		t.Cleanup(func() { close(release) })
		stuckUsers++
		bob := ta.ledgerUser(t, "bob"+strconv.Itoa(stuckUsers))
		bob.account("Savings", "USD", "1.00") // a ledger notification
		<-entered
	}

	t.Run("own write", func(t *testing.T) {
		stuck(t)
		firstPayee(lc.client) // the version known again
		wantStatus(t, lc.tx(checking, "2026-11-23", "Own Write", "-1.00"), http.StatusSeeOther)
		trusted := peers.Trusted()
		if got := firstPayee(lc.client); got != "Own Write" {
			t.Errorf("after this instance's write the first payee is %q (listener trusted %v)", got, trusted)
		}
		// A write through this process's handle outside any request, as the command line in
		// process or a job would make.
		b, err := ledger.For(ta.db, lc.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.AddTransaction(ledger.TxInput{AccountID: checking, Date: "2026-11-24", Payee: "Own Book", Amount: -1_00}); err != nil {
			t.Fatal(err)
		}
		trusted = peers.Trusted()
		if got := firstPayee(lc.client); got != "Own Book" {
			t.Errorf("after this process's book wrote the first payee is %q (listener trusted %v)", got, trusted)
		}
		if !trusted {
			t.Log("the listener's proof expired meanwhile: the views read the version")
		}
	})

	t.Run("listener stuck", func(t *testing.T) {
		stuck(t)
		firstPayee(lc.client) // the version known again (bob's write forgot it)
		within(t, 5*time.Second, "distrust of a stuck listener", func() bool { return !peers.Trusted() })
		if err := db2.Exec(`UPDATE transactions SET payee = 'While Stuck' WHERE user_id = ? AND payee = 'Own Book'`, lc.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got := firstPayee(lc.client); got != "While Stuck" {
			t.Errorf("with the listener stuck the first payee is %q", got)
		}
	})

	t.Run("listener killed", func(t *testing.T) {
		within(t, 5*time.Second, "a trusted listener", peers.Trusted)
		firstPayee(lc.client)
		if err := db2.Exec("SELECT pg_terminate_backend(?)", peers.ListenerPID()).Error; err != nil {
			t.Fatal(err)
		}
		within(t, 5*time.Second, "distrust of a dead listener", func() bool { return !peers.Trusted() })
		if err := db2.Exec(`UPDATE transactions SET payee = 'While Down' WHERE user_id = ? AND payee = 'While Stuck'`, lc.user.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got := firstPayee(lc.client); got != "While Down" {
			t.Errorf("with the listener down the first payee is %q", got)
		}
		within(t, 5*time.Second, "the listener back", peers.Trusted)
		if got := firstPayee(lc.client); got != "While Down" {
			t.Errorf("with the listener back the first payee is %q", got)
		}
	})
}

// TestCachedLedgerViewStatements: a kept dashboard or register, while nothing changed, costs
// one statement on SQLite (the version) and none on Postgres, where the version is known.
func TestCachedLedgerViewStatements(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "100.00")
	wantStatus(t, lc.tx(checking, "2026-11-20", "Bakery", "-3.50"), http.StatusSeeOther)
	want := 1
	if testdb.Postgres() {
		want = 0
		within(t, 5*time.Second, "a trusted listener", ta.h.ledgerCache.versions.peers.Trusted)
	}
	for _, path := range []string{"/dashboard", "/accounts/" + ids(checking), "/transactions"} {
		t.Run(path, func(t *testing.T) {
			lc.get(path) // kept
			var res *response
			stmts := ta.statements(t, func() { res = lc.get(path) })
			if res.StatusCode != http.StatusOK || len(stmts) != want {
				t.Errorf("status %d, %d statements, want %d:\n%s", res.StatusCode, len(stmts), want, strings.Join(stmts, "\n"))
			}
		})
	}
}
