package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/config"
	"tally/mail"
	"tally/mail/mailtest"
	"tally/models"
	"tally/testkit"
	"tally/testkit/testdb"
)

const goodPassword = testkit.Password

var testHash = testkit.Hash

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testApp is the real app on a real data dir in t.TempDir(), with its database there (SQLite)
// or in a database of its own (the Postgres pass, see testdb).
type testApp struct {
	t      testing.TB
	app    *fiber.App
	db     *gorm.DB
	cfg    config.Config
	clock  *testClock
	dir    string
	smtp   *mailtest.Server
	outbox *mail.Outbox
	srv    *Server
	h      *Handlers
	hash   models.HashParams
	logs   testkit.SyncBuffer
	// recorder keeps the statements of the app's database while statements runs.
	recorder *statementRecorder
}

type statementRecorder struct {
	mu    sync.Mutex
	on    bool
	stmts []string
}

// statements runs fn and returns the SQL of every statement the app's database ran meanwhile.
func (ta *testApp) statements(t testing.TB, fn func()) []string {
	t.Helper()
	if ta.recorder == nil {
		r := &statementRecorder{}
		record := func(db *gorm.DB) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.on {
				r.stmts = append(r.stmts, db.Statement.SQL.String())
			}
		}
		cb := ta.db.Callback()
		for _, err := range []error{cb.Query().After("gorm:query").Register("test:record", record),
			cb.Raw().After("gorm:raw").Register("test:record", record), cb.Row().After("gorm:row").Register("test:record", record),
			cb.Create().After("gorm:create").Register("test:record", record), cb.Update().After("gorm:update").Register("test:record", record),
			cb.Delete().After("gorm:delete").Register("test:record", record)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		ta.recorder = r
	}
	r := ta.recorder
	r.mu.Lock()
	r.on, r.stmts = true, nil
	r.mu.Unlock()
	fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.stmts
}

func newTestApp(t testing.TB, env ...string) *testApp {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"TALLY_DATA_DIR": dir, "TALLY_SECRET": strings.Repeat("s", 40)}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	smtpSrv := mailtest.Start(t)
	if _, ok := vars["TALLY_SMTP_URL"]; !ok {
		vars["TALLY_SMTP_URL"] = smtpSrv.URL()
	}
	if _, ok := vars["TALLY_DATABASE_URL"]; !ok && testdb.Postgres() {
		vars["TALLY_DATABASE_URL"] = testdb.Target(t, dir)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ta := &testApp{t: t, cfg: cfg, dir: dir, smtp: smtpSrv, hash: testHash, clock: &testClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}}
	ta.start()
	return ta
}

// start opens the data dir and builds the app; calling it again simulates a restart.
func (ta *testApp) start() {
	t := ta.t
	if ta.srv != nil {
		ta.srv.h.stop() // the app of the previous start; its stores close when the test ends
		ta.srv.StopOutbox()
	}
	log := slog.New(slog.NewTextHandler(&ta.logs, nil))
	srv, err := Open(ta.cfg, log, Options{Now: ta.clock.Now, Hash: ta.hash})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ta.srv, ta.app, ta.db, ta.h, ta.outbox = srv, srv.App, srv.DB, srv.h, srv.Outbox
}

// stopOutbox stops the background mail worker; tests that want mail to stay queued call it.
func (ta *testApp) stopOutbox() { ta.srv.StopOutbox() }

// client is a browser: it keeps cookies and knows the last CSRF token it was shown.
type client struct {
	ta   *testApp
	jar  *cookiejar.Jar
	csrf string
}

var testBase, _ = url.Parse("http://127.0.0.1:8080/")

func (ta *testApp) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{ta: ta, jar: jar}
}

// response is what a test looks at: status, headers and the parsed page.
type response struct {
	*http.Response
	body string
	doc  *goquery.Document
}

func (c *client) do(req *http.Request) *response {
	c.ta.t.Helper()
	res, err := c.try(req)
	if err != nil {
		c.ta.t.Fatal(err)
	}
	return res
}

// try is do for a goroutine other than the test's, which must not stop the test: it returns
// the error instead.
func (c *client) try(req *http.Request) (*response, error) {
	for _, ck := range c.jar.Cookies(testBase) {
		req.AddCookie(ck)
	}
	res, err := c.ta.app.Test(req, -1)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	c.jar.SetCookies(testBase, res.Cookies())
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	if tok, ok := doc.Find(`input[name="_csrf"]`).Attr("value"); ok && tok != "" {
		c.csrf = tok
	}
	return &response{Response: res, body: string(b), doc: doc}, nil
}

func (c *client) get(path string, headers ...string) *response {
	c.ta.t.Helper()
	return c.do(c.getRequest(path, headers))
}

func (c *client) getRequest(path string, headers []string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, testBase.String()+strings.TrimPrefix(path, "/"), nil)
	setHeaders(req, headers)
	return req
}

// post sends a form with the client's CSRF token unless the form sets _csrf itself.
func (c *client) post(path string, form url.Values, headers ...string) *response {
	c.ta.t.Helper()
	return c.do(c.postRequest(path, form, headers))
}

func (c *client) postRequest(path string, form url.Values, headers []string) *http.Request {
	form = cloneValues(form)
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+strings.TrimPrefix(path, "/"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setHeaders(req, headers)
	return req
}

func setHeaders(req *http.Request, headers []string) {
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
}

var htmx = []string{"HX-Request", "true"}

func (c *client) cookie(name string) string {
	for _, ck := range c.jar.Cookies(testBase) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// createUser stores an active user directly.
func (ta *testApp) createUser(username, email, password string) *models.User {
	ta.t.Helper()
	return testkit.CreateUser(ta.t, ta.db, models.NewUser{Username: username, Email: email}, password, ta.clock.Now())
}

// login signs c in through the login form and fails the test if it does not work.
func (c *client) login(login, password string) {
	c.ta.t.Helper()
	c.get("/login")
	res := c.post("/login", url.Values{"login": {login}, "password": {password}})
	if res.StatusCode != http.StatusSeeOther {
		c.ta.t.Fatalf("login %s: status %d: %s", login, res.StatusCode, res.doc.Find("#form-error").Text())
	}
}

// signedInAda creates the active user ada (ada@example.com, goodPassword) and returns her with a
// client just signed in as her. Unlike signedIn it loads no page after the login, so a test sees
// the session exactly as the login left it.
func (ta *testApp) signedInAda() (*models.User, *client) {
	ta.t.Helper()
	u := ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)
	return u, c
}

func wantStatus(t testing.TB, res *response, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, want, trim(res.body))
	}
}

func trim(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// listen serves the app on a real loopback listener, for what app.Test cannot show (limits
// enforced by the HTTP server itself, browsers).
func (ta *testApp) listen() string {
	ta.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ta.t.Fatal(err)
	}
	go func() { _ = ta.app.Listener(ln) }()
	ta.t.Cleanup(func() { _ = ta.app.Shutdown() })
	return "http://" + ln.Addr().String()
}

// noMail asserts that no mail is waiting once the outbox has run dry.
func (ta *testApp) noMail(t testing.TB) {
	t.Helper()
	ta.h.later.wait()
	ta.outbox.DeliverDue(context.Background())
	if m, ok := ta.smtp.Received(); ok {
		t.Fatalf("unexpected mail to %s: %q", m.To, m.Subject)
	}
}
