package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"tally/config"
	"tally/handlers"
	"tally/mail/mailtest"
	"tally/models"
	"tally/testkit"
	"tally/testkit/testdb"
)

// testTimeout bounds one browser test: every wait in a test runs under the context that
// newBrowser returns, so a condition that never comes fails the test instead of hanging it.
const testTimeout = 20 * time.Second

const goodPassword = testkit.Password

// env is one running Tally: the real app on a loopback port with its own data dir, and the
// SMTP server its mail goes to.
type env struct {
	t    *testing.T
	base string // "http://127.0.0.1:<port>", without a trailing slash
	db   *gorm.DB
	mail *mailtest.Server
}

// startApp builds the app on a t.TempDir() data dir (and, on the suite's Postgres pass, a
// database of its own), wired like main.go (session storage, SMTP mailer, outbox worker), and
// serves it at http://127.0.0.1:<port> until the test ends. Everything it opens is closed at
// cleanup, in reverse order.
func startApp(t *testing.T) *env { return startAppAt(t, "127.0.0.1") }

// startAppAtLocalhost is startApp at http://localhost:<port>: browsers offer passkeys only to a
// secure context under a domain name, and an IP address is never one.
func startAppAtLocalhost(t *testing.T) *env { return startAppAt(t, "localhost") }

func startAppAt(t *testing.T, host string) *env {
	t.Helper()
	mailSrv := mailtest.Start(t)
	// Listen first: the configured base URL must be the address the browser will use, or the
	// CSRF origin check refuses every form.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() }) // for a failed start; the app closes it otherwise
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://" + net.JoinHostPort(host, port)
	dir := t.TempDir()
	vars := map[string]string{
		"TALLY_DATA_DIR": dir,
		"TALLY_SECRET":   strings.Repeat("s", 40),
		"TALLY_BASE_URL": base,
		"TALLY_SMTP_URL": mailSrv.URL(),
	}
	if testdb.Postgres() {
		vars["TALLY_DATABASE_URL"] = testdb.Target(t, dir)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	srv, err := handlers.Open(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), handlers.Options{Hash: testkit.Hash})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	go func() { _ = srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = srv.App.ShutdownWithTimeout(5 * time.Second) })
	return &env{t: t, base: base, db: srv.DB, mail: mailSrv}
}

// url is the absolute address of a path on the app.
func (e *env) url(path string) string { return e.base + path }

// createUser stores an active, verified user directly, without the registration form.
func (e *env) createUser(username, email, firstName, password string) *models.User {
	e.t.Helper()
	return testkit.CreateUser(e.t, e.db, models.NewUser{Username: username, Email: email, FirstName: firstName, LastName: "Tester"},
		password, time.Now().UTC())
}

// chromiumPath finds a Chromium or Chrome binary, or returns "".
func chromiumPath() string {
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns the context of its
// tab, limited to testTimeout. The browser closes when the test ends. Without a browser the
// test is skipped on a laptop but fails in CI, where a silently skipped suite proves nothing.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (/usr/bin/chromium, chromium, chromium-browser, google-chrome) and CI=true")
		}
		t.Skip("no Chromium found; install chromium to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// The network here is closed: without these the browser keeps retrying Google services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	// Start the browser on a context without deadline: the context of the first run owns the
	// browser's life, and the deadline below must end waits, not the browser.
	if err := chromedp.Do(tabCtx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start %s: %v", bin, err)
	}
	ctx, cancelTimeout := context.WithTimeout(tabCtx, testTimeout)
	t.Cleanup(func() {
		cancelTimeout()
		// Close the browser gracefully, but not for ever.
		closeCtx, cancel := context.WithTimeout(tabCtx, 5*time.Second)
		defer cancel()
		_ = chromedp.Cancel(closeCtx)
		cancelTab()
		cancelAlloc() // waits for the process to exit, before t.TempDir removes the profile
	})
	return ctx
}

// do runs browser steps and fails the test, showing what the page shows, at the first error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, pageState(ctx))
	}
}

// eval evaluates a JavaScript expression in the page and returns its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v\n%s", expr, err, pageState(ctx))
	}
	return v
}

// location is the address the browser shows.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatalf("location: %v", err)
	}
	return loc
}

// fill types values into inputs, given as id, value pairs, like a user would.
func fill(idValues ...string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(idValues); i += 2 {
		steps = append(steps, chromedp.SendKeys(chromedp.ID(idValues[i]), idValues[i+1]))
	}
	return chromedp.Steps(steps...)
}

// pageState describes the page for a failure message. It also works once the test's deadline
// has passed, which is when it is needed most.
func pageState(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`location.href + "\n" + (document.querySelector("main") || document.body || document.documentElement).innerText.slice(0, 1000)`))
	if err != nil {
		return "(page not readable: " + err.Error() + ")"
	}
	return "the page at " + s
}

// htmxWatcher runs in every document before the page's own scripts, like cspListener. It
// counts the swaps htmx has settled and keeps the status of the last htmx response: htmx
// activates swapped content (hx-* attributes, [autofocus]) only when the swap settles, some
// 20 ms after it, so a click inside new content must wait for that, not for the element.
const htmxWatcher = `window.__settled = 0;
document.addEventListener('htmx:afterSettle', () => { window.__settled++; });
document.addEventListener('htmx:afterRequest', e => { window.__status = e.detail.xhr ? e.detail.xhr.status : -1; });`

// addPageScript runs source in every document the tab loads from now on, before the page's
// own scripts; DevTools injects it, so the page's CSP does not apply to it.
func addPageScript(t *testing.T, ctx context.Context, source string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
		page.AddScriptToEvaluateOnNewDocumentParams{Source: source}); err != nil {
		t.Fatal(err)
	}
}

// swap runs trigger, which must start one htmx request, waits until htmx has settled what the
// request swapped in, and returns the response's status. The page must run htmxWatcher.
func swap(t *testing.T, ctx context.Context, what string, trigger ...chromedp.Action[chromedp.Void]) int {
	t.Helper()
	before := eval[int](t, ctx, `typeof window.__settled === 'number' ? (window.__status = 0, window.__settled) : -1`)
	if before < 0 {
		t.Fatalf("%s: htmxWatcher is not installed in this document", what)
	}
	do(t, ctx, what, trigger...)
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](`n => window.__settled > n`,
		chromedp.WithPollingArgs(before))); err != nil {
		t.Fatalf("%s: no htmx swap settled: %v\n%s", what, err, pageState(ctx))
	}
	return eval[int](t, ctx, `window.__status`)
}

// logIn signs a user in through the login form and waits for the dashboard.
func logIn(t *testing.T, e *env, ctx context.Context, login, firstName string) {
	t.Helper()
	do(t, ctx, "log in as "+login,
		chromedp.Navigate(e.url("/login")),
		chromedp.WaitVisible(chromedp.ID("login-form")),
		fill("login", login, "password", goodPassword),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, `+firstName+`"]`)),
	)
}
