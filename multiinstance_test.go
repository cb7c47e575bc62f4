package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/mail/mailtest"
	"tally/models"
	"tally/testkit"
	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

// Three Tally processes on one Postgres database behind a round-robin proxy, as in production:
// a session started on one is used on the others and ends on all within a second of a logout
// on another; wrong passwords spread over the three lock the account at the 10th; each mail is
// delivered once while all three run the outbox; two instances starting together on an empty
// database both become ready, with each schema version applied once.
func TestSeveralInstances(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("several instances share a Postgres database: this runs on the Postgres pass")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tally")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	smtp := mailtest.Start(t)
	proxy := &roundRobin{}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	dbURL := testdb.Target(t, dir)
	env := []string{
		"TALLY_DATABASE_URL=" + dbURL,
		"TALLY_SECRET=multi-instance-test-secret-0123456789abcdef",
		"TALLY_BASE_URL=" + front.URL,
		"TALLY_SMTP_URL=" + smtp.URL(),
		"TALLY_TRUSTED_PROXIES=127.0.0.1/32",
		"TALLY_RATE_IP_HOUR=1000",
	}

	// Two start together on the empty database, the third after.
	var inst [3]*instance
	started := make(chan *instance, 2)
	for i := range 2 {
		go func() { started <- startInstance(t, bin, env, i) }()
	}
	inst[0], inst[1] = <-started, <-started
	inst[2] = startInstance(t, bin, env, 2)
	for _, in := range inst {
		proxy.backends = append(proxy.backends, in.url)
	}
	// Each version applied once: the one that migrated recorded it, the others found it done.
	t.Logf("tally migrate after the starts: %s", strings.TrimSpace(tally(t, bin, env, "", "migrate")))

	tally(t, bin, env, "tangerine-Umbrella-42\n", "createsuperuser", "--username", "ada", "--email", "ada@example.com")

	t.Run("a session works on every instance and ends on all", func(t *testing.T) {
		c := newBrowser(t, front.URL)
		c.get(-1, "/login")
		if res := c.post(-1, "/login", url.Values{"login": {"ada"}, "password": {"tangerine-Umbrella-42"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		for i := range inst {
			if code := c.get(i, "/account/security").StatusCode; code != http.StatusOK {
				t.Fatalf("instance %d: /account = %d, want 200 while signed in", i, code)
			}
		}
		c.get(1, "/account/security") // the logout's CSRF token
		if res := c.post(1, "/logout", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.StatusCode)
		}
		// The cookie the logout expired is sent again, as a second tab of the same browser
		// would: every instance must refuse it.
		from := time.Now()
		dead := map[int]bool{}
		for len(dead) < len(inst) && time.Since(from) < 3*time.Second {
			for i := range inst {
				if !dead[i] && c.getWith(i, "/account/security", c.lastCookie).StatusCode == http.StatusSeeOther {
					dead[i] = true
				}
			}
		}
		took := time.Since(from)
		t.Logf("session dead on all %d instances %v after the logout answered", len(inst), took)
		if len(dead) < len(inst) || took >= time.Second {
			t.Errorf("after %v dead on %v, want all within 1 s", took, dead)
		}
	})

	t.Run("lockout across instances", func(t *testing.T) {
		for i := range 10 {
			c := newBrowser(t, front.URL)
			c.get(i%3, "/login")
			res := c.post(i%3, "/login", url.Values{"login": {"ada"}, "password": {"wrong-" + strconv.Itoa(i)}})
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("attempt %d: %d", i+1, res.StatusCode)
			}
		}
		for i := range inst {
			c := newBrowser(t, front.URL)
			c.get(i, "/login")
			res := c.post(i, "/login", url.Values{"login": {"ada"}, "password": {"tangerine-Umbrella-42"}})
			if msg := strings.TrimSpace(res.doc.Find("#form-error").Text()); !strings.Contains(msg, "paused") {
				t.Errorf("instance %d after 10 failures: %d %q, want the lock", i, res.StatusCode, msg)
			}
		}
	})

	t.Run("each mail delivered once", func(t *testing.T) {
		// The lock's notice was queued on one instance while all three run the outbox; a reset
		// mail follows through another. Once the outbox holds nothing pending, exactly those two
		// have arrived.
		if m := smtp.Next(t); !strings.Contains(m.Subject, "paused") {
			t.Fatalf("first mail %q, want the lock's notice", m.Subject)
		}
		c := newBrowser(t, front.URL)
		c.get(2, "/password/forgot")
		c.post(2, "/password/forgot", url.Values{"email": {"ada@example.com"}})
		if m := smtp.Next(t); strings.Contains(m.Subject, "paused") {
			t.Fatalf("the lock's notice delivered twice")
		}
		db, err := models.Open(dbURL, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer models.Close(db)
		var pending, sent int64
		deadline := time.Now().Add(10 * time.Second)
		for {
			db.Model(&models.Email{}).Where("status = ?", models.MailPending).Count(&pending)
			if pending == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
		}
		db.Model(&models.Email{}).Where("status = ? AND attempts = 1", models.MailSent).Count(&sent)
		if pending != 0 || sent != 2 {
			t.Errorf("outbox: %d pending, %d sent at the first attempt; want 0 and 2", pending, sent)
		}
		if m, ok := smtp.Received(); ok {
			t.Errorf("a third mail arrived: %q", m.Subject)
		}
	})
}

// instance is one Tally process.
type instance struct {
	url    *url.URL
	stderr *testkit.SyncBuffer
}

func startInstance(t *testing.T, bin string, env []string, n int) *instance {
	t.Helper()
	addr := testkit.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), append(env, "TALLY_ADDR="+addr, "TALLY_DATA_DIR="+filepath.Join(t.TempDir(), "data"))...)
	in := &instance{url: &url.URL{Scheme: "http", Host: addr}, stderr: &testkit.SyncBuffer{}}
	cmd.Stdout, cmd.Stderr = io.Discard, in.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("instance %d log:\n%s", n, in.stderr.String())
		}
	})
	// Ready when /readyz says so; polled with a deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(in.url.String() + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return in
			}
		}
		select {
		case <-exited:
			t.Fatalf("instance %d exited:\n%s", n, in.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %d not ready in 30 s:\n%s", n, in.stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, bounded by the deadline
	}
}

// tally runs a command of the binary with the instances' environment.
func tally(t *testing.T, bin string, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), append(env, "TALLY_DATA_DIR="+filepath.Join(t.TempDir(), "data"))...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tally %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// roundRobin passes each request to the next instance, or to the one a test names in
// X-Test-Instance.
type roundRobin struct {
	backends []*url.URL
	next     atomic.Uint64
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(p.next.Add(1)) % len(p.backends)
	if n, err := strconv.Atoi(r.Header.Get("X-Test-Instance")); err == nil && n >= 0 {
		i = n
	}
	target := p.backends[i]
	(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host
		pr.SetXForwarded()
	}}).ServeHTTP(w, r)
}

// browser keeps cookies and the last CSRF token, like the handler tests' client.
type browser struct {
	t          *testing.T
	base       *url.URL
	http       *http.Client
	csrf       string
	lastCookie string // the session cookie as it was before the last response
}

type page struct {
	*http.Response
	doc *goquery.Document
}

func newBrowser(t *testing.T, base string) *browser {
	u, _ := url.Parse(base)
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: u, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(inst int, path string) *page {
	req, _ := http.NewRequest(http.MethodGet, b.base.String()+path, nil)
	return b.do(inst, req)
}

// getWith sends cookies instead of the jar's.
func (b *browser) getWith(inst int, path, cookies string) *page {
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: b.http.CheckRedirect}
	req, _ := http.NewRequest(http.MethodGet, b.base.String()+path, nil)
	req.Header.Set("Cookie", cookies)
	req.Header.Set("X-Test-Instance", strconv.Itoa(inst))
	res, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	return &page{Response: res}
}

func (b *browser) post(inst int, path string, form url.Values) *page {
	form.Set("_csrf", b.csrf)
	req, _ := http.NewRequest(http.MethodPost, b.base.String()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base.Scheme+"://"+b.base.Host)
	return b.do(inst, req)
}

func (b *browser) do(inst int, req *http.Request) *page {
	b.t.Helper()
	if inst >= 0 {
		req.Header.Set("X-Test-Instance", strconv.Itoa(inst))
	}
	var cookies []string
	for _, ck := range b.http.Jar.Cookies(b.base) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	b.lastCookie = strings.Join(cookies, "; ")
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if tok, ok := doc.Find(`input[name="_csrf"]`).Attr("value"); ok && tok != "" {
		b.csrf = tok
	}
	return &page{Response: res, doc: doc}
}
