package handlers

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/static"
)

func TestSecurityHeadersEverywhere(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	big := url.Values{"login": {strings.Repeat("x", 70<<10)}}
	for _, tc := range []struct {
		name   string
		res    func() *response
		status int
	}{
		{"landing", func() *response { return c.get("/") }, http.StatusOK},
		{"login", func() *response { return c.get("/login") }, http.StatusOK},
		{"not found", func() *response { return c.get("/no/such/page") }, http.StatusNotFound},
		{"oversized form", func() *response { c.get("/login"); return c.post("/login", big) }, http.StatusRequestEntityTooLarge},
		{"unknown method", func() *response { return c.do(httptest.NewRequest("BREW", "/login", nil)) }, http.StatusNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res()
			wantStatus(t, res, tc.status)
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP allows unsafe: %q", csp)
			}
			for h, want := range map[string]string{
				"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
			} {
				if got := res.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if res.doc.Find("script:not([src]), style, [style]").Length() > 0 {
				t.Error("page has inline script or style")
			}
		})
	}
}

// A method Fiber does not route is answered 501 by Tally, with its log line (without the
// query), and the next request is served as before.
func TestUnknownMethod(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	res := c.do(httptest.NewRequest("PROPFIND", "/login?token=secret", nil))
	wantStatus(t, res, http.StatusNotImplemented)
	if !strings.Contains(res.body, "does not support that request method") {
		t.Errorf("body %q", res.body)
	}
	logs := ta.logs.String()
	if !strings.Contains(logs, "method=PROPFIND path=/login status=501") || strings.Contains(logs, "secret") {
		t.Errorf("log line of the unknown method is missing or has the query:\n%s", logs)
	}
	wantStatus(t, c.get("/login"), http.StatusOK)
}

// An address with no page gets the app's own sentence, not the router's "Cannot GET /path";
// a handler's 404 keeps its own words.
func TestUnknownAddressPage(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	for _, p := range []string{"/no/such/page", "/a&b<c>?x=1&y=2"} {
		res := c.get(p)
		wantStatus(t, res, http.StatusNotFound)
		if got := strings.TrimSpace(res.doc.Find("main").Text()); !strings.Contains(got, "There is no page at this address.") ||
			strings.Contains(got, "Cannot") || strings.Contains(got, "&amp;") {
			t.Errorf("%s: page says %q", p, got)
		}
	}
	c.get("/account/sessions")
	res := c.post("/account/sessions/no-such-session/revoke", nil)
	wantStatus(t, res, http.StatusNotFound)
	if got := res.doc.Find("main").Text(); !strings.Contains(got, "That session does not exist or has already ended.") {
		t.Errorf("revoking an ended session says %q", strings.TrimSpace(got))
	}
}

func TestBodyLimitWholeApp(t *testing.T) {
	ta := newTestApp(t)
	base := ta.listen()
	// Announce a body over the largest upload and send none: the server must refuse on the
	// header alone.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /register HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n",
		strings.TrimPrefix(base, "http://"), appBodyLimit+1)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
	if res.Header.Get("Content-Security-Policy") == "" {
		t.Error("413 from the server layer lacks security headers")
	}
}

// TestUnreadableRequest sends requests the HTTP server cannot parse. They are refused with 400
// and a plain sentence, not the parser's error, which quotes the raw request (cookies included).
func TestUnreadableRequest(t *testing.T) {
	ta := newTestApp(t)
	host := strings.TrimPrefix(ta.listen(), "http://")
	for name, raw := range map[string]string{
		"negative length":     "POST /login HTTP/1.1\r\nHost: %s\r\nCookie: tally_session=SECRET\r\nContent-Length: -5\r\n\r\n",
		"truncated multipart": "POST /profile/avatar HTTP/1.1\r\nHost: %s\r\nCookie: tally_session=SECRET\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 20\r\n\r\n--b\r\nContent-Dispositi",
		"bad chunk size":      "POST /login HTTP/1.1\r\nHost: %s\r\nCookie: tally_session=SECRET\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, raw, host)
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			doc, err := goquery.NewDocumentFromReader(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			msg := doc.Find("main .panel p").First().Text()
			if res.StatusCode != http.StatusBadRequest || msg != defaultMessage(http.StatusBadRequest) {
				t.Errorf("status %d, message %q", res.StatusCode, msg)
			}
			if strings.Contains(doc.Text(), "SECRET") {
				t.Error("the page quotes the request")
			}
		})
	}
}

func TestHostileInputNever500(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	c.get("/register")
	for _, v := range []string{"\x00", "\xff", strings.Repeat("é", 400), "<script>alert(1)</script>", "' OR 1=1 --", "%00"} {
		for _, field := range []string{"username", "email", "first_name", "password", "login", "next"} {
			form := registerValues(field, v)
			form.Set("login", v)
			for _, path := range []string{"/register", "/login"} {
				res := c.post(path, form)
				if res.StatusCode >= 500 {
					t.Errorf("POST %s %s=%q: %d", path, field, v, res.StatusCode)
				}
				if strings.Contains(res.body, "<script>alert(1)</script>") {
					t.Errorf("POST %s echoed markup unescaped", path)
				}
			}
		}
	}
	for _, p := range []string{"/login?next=%ff", "/register/done?email=%00", "/static/../main.go", "/static/%2e%2e/go.mod"} {
		if res := c.get(p); res.StatusCode >= 500 || strings.Contains(res.body, "module tally") {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
}

func TestStaticAssets(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	page := c.get("/login")
	src, _ := page.doc.Find(`script[src*="htmx"]`).Attr("src")
	if src == "" || src != static.URL("vendor/htmx-2.0.11/htmx.min.js") {
		t.Fatalf("htmx script src = %q", src)
	}
	for _, path := range []string{src, static.URL("app.css"), "/static/vendor/htmx-2.0.11/LICENSE"} {
		res := c.get(path)
		wantStatus(t, res, http.StatusOK)
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s Cache-Control = %q", path, cc)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Errorf("%s has no ETag", path)
			continue
		}
		if res.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s sets a cookie", path)
		}
		if again := c.get(path, "If-None-Match", etag); again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match: %d", path, again.StatusCode)
		}
	}
	if css := c.get(static.URL("app.css")); !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css Content-Type = %q", css.Header.Get("Content-Type"))
	}
}

func TestHealthz(t *testing.T) {
	ta := newTestApp(t)
	wantStatus(t, ta.client().get("/healthz"), http.StatusOK)
}

func TestLandingCreatesNoSession(t *testing.T) {
	ta := newTestApp(t)
	res := ta.client().get("/")
	wantStatus(t, res, http.StatusOK)
	if sc := res.Header.Get("Set-Cookie"); sc != "" {
		t.Errorf("landing page set a cookie: %s", sc)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	ta := newTestApp(t, "TALLY_SESSION_IDLE", "10m")
	_, c := ta.signedInAda()
	ta.clock.Advance(9 * time.Minute)
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	ta.clock.Advance(9 * time.Minute) // active 9 minutes ago: still fine
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	ta.clock.Advance(11 * time.Minute)
	// A form sent from the expired page is asked to sign in again in place (reauth.go), not
	// refused for its CSRF token.
	res := c.post("/profile", url.Values{"first_name": {"Ada"}}, "HX-Request", "true", "HX-Current-URL", "http://127.0.0.1:8080/profile")
	askedToSignInAgain(t, res, "/profile")
	c.login("ada", goodPassword)
	ta.clock.Advance(11 * time.Minute)
	askedToSignInAgain(t, c.get("/dashboard", "HX-Request", "true", "HX-Current-URL", "http://127.0.0.1:8080/dashboard"), "/dashboard")
}

func TestSessionSurvivesRestart(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	ta.start()
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
}

func TestPageViewIsNotASessionWrite(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	c.get("/dashboard")
	for i := 0; i < 3; i++ {
		res := c.get("/dashboard")
		wantStatus(t, res, http.StatusOK)
		if sc := res.Header.Get("Set-Cookie"); sc != "" {
			t.Fatalf("page view %d rewrote the session: %s", i, sc)
		}
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	link := c.register("ada_l", "ada@example.com").Link(t, "http://")
	token := strings.SplitN(link, "token=", 2)[1]
	c.get(path(t, link))
	c.post("/logout", nil)
	c.get("/login")
	anonCSRF, anonCookie := c.csrf, c.cookie("tally_csrf")
	c.post("/login", url.Values{"login": {"ada_l"}, "password": {"wrong-" + goodPassword}})
	c.login("ada_l", goodPassword)
	c.get("/dashboard")
	logs := ta.logs.String()
	if !strings.Contains(logs, "path=/verify") || !strings.Contains(logs, "path=/login status=303") {
		t.Fatalf("expected one line per request, got:\n%s", logs)
	}
	for name, secret := range map[string]string{
		"password": goodPassword, "verification token": token, "session id": c.cookie("tally_session"),
		"csrf token": c.csrf, "password hash": "$argon2id$", "anonymous csrf token": anonCSRF, "csrf cookie": anonCookie,
	} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", name)
		}
	}
}
