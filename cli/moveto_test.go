package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"

	"tally/backup"
	"tally/config"
	"tally/handlers"
	"tally/models"
	"tally/models/ledger"
	"tally/testkit"
	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

// movePlanTables is every table a move copies, for the test's own counts.
func movePlanTables() []string {
	var names []string
	for _, t := range ledger.MovePlan(time.Time{}).Tables {
		if !t.Skip {
			names = append(names, t.Name)
		}
	}
	return names
}

// TestMoveToCopiesAnInstall seeds a SQLite install through the app (users, one with two-factor
// sign-in, a signed-in session, a demo ledger, a committed and a staged import, a deleted
// transfer waiting for its undo, budgets), moves it into a fresh Postgres database and checks
// the counts and balances itself; then the app on Postgres keeps the session, signs both users
// in (the second with a TOTP code, so its sealed secret moved intact) and hands out new ids past
// the copied ones; a second move refuses the database.
func TestMoveToCopiesAnInstall(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("tally move-to fills a Postgres database: it runs on the Postgres pass (" + testdb.EnvURL + ")")
	}
	dir := t.TempDir()
	cfg := loadConfig(t, map[string]string{"TALLY_DATA_DIR": dir})
	if err := cfg.LoadSecret(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The SQLite install, written through the app's own code.
	srv, err := handlers.Open(cfg, log, handlers.Options{Hash: testkit.Hash})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ada := testkit.CreateUser(t, srv.DB, models.NewUser{Username: "ada", Email: "ada@example.com"}, testkit.Password, now)
	grace := testkit.CreateUser(t, srv.DB, models.NewUser{Username: "grace", Email: "grace@example.com", FirstName: "Grace"}, testkit.Password, now)
	totpSecret := enableTwoFactor(t, srv.DB, cfg, grace, now)
	seedLedger(t, srv.DB, ada)
	base := serve(t, srv)
	adaJar := signIn(t, base, "ada", "")

	// A server holds the data dir: the move refuses, and writes nothing.
	target := testdb.Target(t, dir)
	if _, err := runMove(t, cfg, target); !errors.Is(err, backup.ErrInUse) {
		t.Fatalf("move-to beside a server: %v, want ErrInUse", err)
	}
	srv.App.Shutdown()
	srv.Close()

	out, err := runMove(t, cfg, target)
	if err != nil {
		t.Fatalf("move-to: %v\n%s", err, out)
	}
	for _, want := range []string{"Copied ", "balance per account", "category_months = sums of the rows", "sequences past the copied ids", filepath.Join(dir, "secret.key")} {
		if !strings.Contains(out, want) {
			t.Errorf("move-to's report lacks %q:\n%s", want, out)
		}
	}

	src, err := models.Open(filepath.Join(dir, "tally.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(src)
	dst, err := models.Open(target, log)
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(dst)
	for _, table := range movePlanTables() {
		if n, m := countRows(t, src, table), countRows(t, dst, table); n != m {
			t.Errorf("%s: %d rows on SQLite, %d on Postgres", table, n, m)
		}
	}
	for _, table := range []string{"transactions", "deleted_transactions", "imports", "import_rows", "budgets", "two_factor_secrets", "recovery_codes", "auth_sessions"} {
		if countRows(t, src, table) == 0 {
			t.Errorf("the seeded install has no %s: the test proves nothing about them", table)
		}
	}
	if a, b := balances(t, src, ada.ID), balances(t, dst, ada.ID); a != b || a == "" {
		t.Errorf("balances on SQLite:\n%s\non Postgres:\n%s", a, b)
	}

	// The app on Postgres, with the secret of the data dir.
	secret, err := os.ReadFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	pgCfg := loadConfig(t, map[string]string{"TALLY_DATA_DIR": t.TempDir(), "TALLY_DATABASE_URL": target, "TALLY_SECRET": strings.TrimSpace(string(secret))})
	pg, err := handlers.Open(pgCfg, log, handlers.Options{Hash: testkit.Hash})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.App.Shutdown(); pg.Close() })
	pgBase := serve(t, pg)
	if path := get(t, &http.Client{Jar: adaJar}, pgBase+"/dashboard"); path != "/dashboard" {
		t.Errorf("ada's session from before the move: GET /dashboard ended at %s", path)
	}
	signIn(t, pgBase, "ada", "")
	signIn(t, pgBase, "grace", totpSecret)

	b, err := ledger.For(pg.DB, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := b.CreateAccount(ledger.AccountInput{Name: "After the move", Kind: ledger.KindCash, Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	var maxID uint
	if err := src.Raw("SELECT max(id) FROM accounts").Scan(&maxID).Error; err != nil {
		t.Fatal(err)
	}
	if acct.ID <= maxID {
		t.Errorf("a new account got id %d; the copied ones go up to %d", acct.ID, maxID)
	}

	// A second move meets a database with data.
	if out, err := runMove(t, cfg, target); !errors.Is(err, models.ErrNotEmpty) {
		t.Fatalf("second move-to: %v, want ErrNotEmpty\n%s", err, out)
	}
}

func loadConfig(t *testing.T, vars map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runMove runs tally move-to target as main runs a standalone command.
func runMove(t *testing.T, cfg config.Config, target string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := (&CLI{Config: cfg, In: strings.NewReader(""), Out: &out, Err: &errOut}).Run(context.Background(), []string{"move-to", target})
	return out.String() + errOut.String(), err
}

// enableTwoFactor turns on grace's two-factor sign-in as enrolment does and returns the TOTP
// secret her authenticator would hold.
func enableTwoFactor(t *testing.T, db *gorm.DB, cfg config.Config, u *models.User, now time.Time) string {
	t.Helper()
	keys, err := models.NewTwoFactorKeys(cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := models.NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	// The step proven at enrolment lies in the past, so the sign-in's code is a new one.
	if err := models.EnableTwoFactor(db, keys, u, secret, models.TOTPStep(now)-10, models.NewRecoveryCodes(), now); err != nil {
		t.Fatal(err)
	}
	return secret
}

// seedLedger gives u a demo ledger, a committed import and a staged one, a deleted transfer
// waiting for its undo and two budget amounts.
func seedLedger(t *testing.T, db *gorm.DB, u *models.User) {
	t.Helper()
	demo := &CLI{DB: db, In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}
	if err := demo.Run(context.Background(), []string{"demo", u.Username, "--months", "12", "--transactions", "400"}); err != nil {
		t.Fatal(err)
	}
	b, err := ledger.For(db, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := b.Accounts(false)
	if err != nil || len(accounts) < 2 {
		t.Fatalf("demo accounts %v, %v", accounts, err)
	}
	acct := accounts[0].ID
	rows := func(payee string, n int) ledger.ImportRows {
		var in []ledger.ImportRow
		for i := range n {
			in = append(in, ledger.ImportRow{Line: i + 2, Date: fmt.Sprintf("2020-01-%02d", i+1), Payee: payee, Amount: int64(-100 * (i + 1))})
		}
		return ledger.ImportRows{Format: "csv", Mapping: `{"date_column":"Date"}`, SaveMapping: true, Rows: func(yield func(ledger.ImportRow) bool) {
			for _, r := range in {
				if !yield(r) {
					return
				}
			}
		}}
	}
	committed, err := b.StageImport(ledger.StagedFile{AccountID: acct, FileName: "jan.csv", Format: "csv", Data: []byte("Date,Payee,Amount\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StageImportRows(committed.ID, rows("Imported shop", 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CommitImport(committed.ID, nil); err != nil {
		t.Fatal(err)
	}
	staged, err := b.StageImport(ledger.StagedFile{AccountID: acct, FileName: "feb.csv", Format: "csv", Data: []byte("Date,Payee,Amount\nfeb\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StageImportRows(staged.ID, rows("Staged shop", 3)); err != nil {
		t.Fatal(err)
	}
	var transfer uint
	if err := db.Raw("SELECT id FROM transactions WHERE user_id = ? AND transfer_id IS NOT NULL ORDER BY id LIMIT 1", u.ID).Scan(&transfer).Error; err != nil || transfer == 0 {
		t.Fatalf("the demo ledger has no transfer: %v", err)
	}
	if err := b.DeleteTransaction(transfer); err != nil {
		t.Fatal(err)
	}
	cats, err := b.Categories()
	if err != nil || len(cats) < 2 {
		t.Fatalf("categories %v, %v", cats, err)
	}
	month := time.Now().UTC().Format("2006-01")
	for i, c := range cats[:2] {
		if err := b.SetBudget(month, c.ID, accounts[0].Currency, int64(10000*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
}

// serve serves srv's app on a loopback port until the test ends.
func serve(t *testing.T, srv *handlers.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App.Listener(ln)
	return "http://" + ln.Addr().String()
}

// signIn signs username in over HTTP, with a TOTP code from totpSecret when it is set, and
// returns the cookie jar holding the session.
func signIn(t *testing.T, base, username, totpSecret string) http.CookieJar {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	token := csrfToken(t, hc, base+"/login")
	res, err := hc.PostForm(base+"/login", url.Values{"_csrf": {token}, "login": {username}, "password": {testkit.Password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if totpSecret != "" {
		if res.Request.URL.Path != "/login/2fa" {
			t.Fatalf("%s's password led to %s (%d), want the code step", username, res.Request.URL.Path, res.StatusCode)
		}
		code, err := totp.GenerateCode(totpSecret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		token := csrfToken(t, hc, base+"/login/2fa")
		if res, err = hc.PostForm(base+"/login/2fa", url.Values{"_csrf": {token}, "code": {code}}); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/dashboard" {
		t.Fatalf("sign-in of %s: %d at %s", username, res.StatusCode, res.Request.URL.Path)
	}
	return jar
}

func csrfToken(t *testing.T, hc *http.Client, page string) string {
	t.Helper()
	res, err := hc.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	token := doc.Find(`input[name="_csrf"]`).AttrOr("value", "")
	if token == "" {
		t.Fatalf("GET %s: no CSRF token", page)
	}
	return token
}

// get reads a page and returns the path it ended at after redirects.
func get(t *testing.T, hc *http.Client, page string) string {
	t.Helper()
	res, err := hc.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.Request.URL.Path
}

func countRows(t *testing.T, db *gorm.DB, table string) int64 {
	t.Helper()
	if !db.Migrator().HasTable(table) {
		t.Fatalf("%s: no such table", table)
	}
	var n int64
	if err := db.Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// balances lists the user's accounts with the balances the ledger reads (from its month totals).
func balances(t *testing.T, db *gorm.DB, userID uint) string {
	t.Helper()
	b, err := ledger.For(db, userID)
	if err != nil {
		t.Fatal(err)
	}
	accounts, err := b.Accounts(true)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, a := range accounts {
		lines = append(lines, fmt.Sprintf("%d %s %s %d", a.ID, a.Name, a.Currency, a.Balance))
	}
	return strings.Join(lines, "\n")
}
