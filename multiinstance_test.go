package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"

	"tally/mail/mailtest"
	"tally/models"
	"tally/models/schema"
	"tally/testkit"
	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

// Three Tally processes on one Postgres database behind a round-robin proxy, as in production:
// a session started on one is used on the others and ends on all within a second of a logout
// on another; wrong passwords spread over the three lock the account at the 10th; each mail is
// delivered once while all three run the outbox; a two-factor step and both passkey ceremonies
// begun on one instance finish on another; a mail whose sender is killed mid-send is left to
// its lease by the others; two instances starting together on an empty database both become
// ready, with each schema version applied once.
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
	// At localhost, not 127.0.0.1: browsers (and so Tally) offer passkeys at no IP address.
	base := "http://localhost:" + strconv.Itoa(front.Listener.Addr().(*net.TCPAddr).Port)
	dbURL := testdb.Target(t, dir)
	env := []string{
		"TALLY_DATABASE_URL=" + dbURL,
		"TALLY_SECRET=multi-instance-test-secret-0123456789abcdef",
		"TALLY_BASE_URL=" + base,
		"TALLY_SMTP_URL=" + smtp.URL(),
		"TALLY_TRUSTED_PROXIES=127.0.0.1/32",
		"TALLY_RATE_IP_HOUR=1000",
		"TALLY_RATE_MAIL_MINUTE=100", // ada is sent more than one reset within a minute
	}
	// Each instance sends through a port of its own, so a mail tells which one sent it.
	var via [3]string
	envOf := func(i int) []string {
		via[i] = smtp.Listen(t)
		return append(slices.Clone(env), "TALLY_SMTP_URL="+via[i])
	}

	// Two start together on the empty database, the third after.
	var inst [3]*instance
	started := make(chan *instance, 2)
	for i := range 2 {
		e := envOf(i)
		go func() { started <- startInstance(t, bin, e, i) }()
	}
	for range 2 {
		in := <-started
		inst[in.n] = in
	}
	inst[2] = startInstance(t, bin, envOf(2), 2)
	for _, in := range inst {
		proxy.backends = append(proxy.backends, in.url)
	}
	// Each version applied once: the one that migrated recorded it, the others found it done.
	latest := len(schema.Migrations(slog.New(slog.DiscardHandler)))
	if out, want := tally(t, bin, env, "", "migrate"), fmt.Sprintf("The database is up to date (schema version %d).\n", latest); out != want {
		t.Errorf("tally migrate after the starts: %q, want %q", out, want)
	}
	if n := countVersions(t, dbURL); n != int64(latest) {
		t.Errorf("schema_migrations holds %d rows after two starts together, want %d", n, latest)
	}

	for _, name := range []string{"ada", "grace", "kim"} {
		tally(t, bin, env, "tangerine-Umbrella-42\n", "createsuperuser", "--username", name, "--email", name+"@example.com")
	}

	t.Run("a session works on every instance and ends on all", func(t *testing.T) {
		c := newBrowser(t, base)
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
		// The sentences of handlers/auth.go's errBadLogin and handlers/throttle.go's errLocked.
		const badLogin = "That username or email and password do not match an account."
		const locked = "Logging in to this account is paused"
		attempt := func(inst int, password string) (int, string) {
			c := newBrowser(t, base)
			c.get(inst, "/login")
			res := c.post(inst, "/login", url.Values{"login": {"ada"}, "password": {password}})
			return res.StatusCode, strings.TrimSpace(res.doc.Find("#form-error").Text())
		}
		// Nine wrong passwords at once, three on each instance: each is counted, none locks
		// (the lock comes with the failure that makes the count reach 10).
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Go(func() {
				if code, msg := attempt(i%3, "wrong-"+strconv.Itoa(i)); code != http.StatusUnprocessableEntity || !strings.Contains(msg, badLogin) {
					t.Errorf("attempt %d on instance %d: %d %q, want the wrong-password answer", i+1, i%3, code, msg)
				}
			})
		}
		wg.Wait()
		// The 10th is answered as a wrong password and locks the account.
		if code, msg := attempt(0, "wrong-10"); code != http.StatusUnprocessableEntity || !strings.Contains(msg, badLogin) {
			t.Fatalf("attempt 10: %d %q, want the wrong-password answer", code, msg)
		}
		// After it, the right password is refused as locked on every instance.
		for i := range inst {
			if code, msg := attempt(i, "tangerine-Umbrella-42"); code != http.StatusUnprocessableEntity || !strings.Contains(msg, locked) {
				t.Errorf("instance %d after 10 failures, the right password: %d %q, want the lock", i, code, msg)
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
		c := newBrowser(t, base)
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

	t.Run("a two-factor step and passkey ceremonies cross instances", func(t *testing.T) {
		const password = "tangerine-Umbrella-42"
		c := newBrowser(t, base)
		c.get(0, "/login")
		if res := c.post(0, "/login", url.Values{"login": {"grace"}, "password": {password}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		// A passkey registered across instances: begun on 0, finished on 1.
		key := newSoftKey(t, base)
		c.get(0, "/account/security")
		status, options := c.postJSON(0, "/passkeys/register/begin", map[string]string{"name": "Laptop", "password": password})
		if status != http.StatusOK {
			t.Fatalf("registration begin on 0: %d %s", status, options)
		}
		if status, body := c.postJSON(1, "/passkeys/register/finish", key.create(options)); status != http.StatusOK {
			t.Fatalf("registration finish on 1: %d %s", status, body)
		}
		// Two-factor on, as a person turns it on: the key from the page on 1, the code to 2.
		key2fa := strings.ReplaceAll(c.get(1, "/account/2fa").doc.Find("#twofactor-key").Text(), " ", "")
		if len(key2fa) != 32 {
			t.Fatalf("two-factor key %q", key2fa)
		}
		if res := c.post(2, "/account/2fa", url.Values{"code": {totpCode(t, key2fa, time.Now())}}); res.StatusCode != http.StatusOK {
			t.Fatalf("enrolment on 2: %d", res.StatusCode)
		}
		c.get(2, "/account/security")
		if res := c.post(2, "/logout", url.Values{}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("logout: %d", res.StatusCode)
		}

		// The password on 0 leaves a pending sign-in that signs in nobody on any instance; the
		// code, posted to 1, completes it, and the session works on 2.
		c = newBrowser(t, base)
		c.get(0, "/login")
		res := c.post(0, "/login", url.Values{"login": {"grace"}, "password": {password}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/login/2fa" {
			t.Fatalf("the password on 0: %d to %q, want the code step", res.StatusCode, loc)
		}
		for i := range inst {
			if code := c.get(i, "/account/security").StatusCode; code != http.StatusSeeOther {
				t.Fatalf("instance %d: %d with only the password, want the redirect to sign in", i, code)
			}
		}
		if form := c.get(1, "/login/2fa").doc.Find("form#login-code-form"); form.Length() != 1 {
			t.Fatal("instance 1 does not show the pending sign-in's code form")
		}
		// The next step's code: the enrolment spent this step's.
		res = c.post(1, "/login/2fa", url.Values{"code": {totpCode(t, key2fa, time.Now().Add(30*time.Second))}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/dashboard" {
			t.Fatalf("the code on 1: %d to %q: %s", res.StatusCode, loc, strings.TrimSpace(res.doc.Find("form").Text()))
		}
		if code := c.get(2, "/account/security").StatusCode; code != http.StatusOK {
			t.Fatalf("instance 2 after the code on 1: %d, want signed in", code)
		}

		// A passkey sign-in begun on 2 and finished on 0 with the authenticator's assertion.
		c = newBrowser(t, base)
		c.get(2, "/login")
		status, options = c.postJSON(2, "/passkeys/login/begin", map[string]string{"mode": "signin"})
		if status != http.StatusOK {
			t.Fatalf("sign-in begin on 2: %d %s", status, options)
		}
		status, body := c.postJSON(0, "/passkeys/login/finish", map[string]any{"credential": key.get(options)})
		var answer struct {
			Redirect string `json:"redirect"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &answer) != nil || answer.Redirect != "/dashboard" {
			t.Fatalf("sign-in finish on 0: %d %s", status, body)
		}
		if code := c.get(1, "/account/security").StatusCode; code != http.StatusOK {
			t.Fatalf("instance 1 after the passkey on 0: %d, want signed in", code)
		}
	})

	t.Run("a mail whose sender is killed mid-send waits for its lease", func(t *testing.T) {
		// The SMTP server hangs on kim's reset; whichever instance claimed it is killed while it
		// waits for the server's answer, holding the lease.
		held := smtp.Hold("kim@example.com")
		c := newBrowser(t, base)
		c.get(0, "/password/forgot")
		c.post(0, "/password/forgot", url.Values{"email": {"kim@example.com"}})
		var sender int
		select {
		case v := <-held:
			sender = slices.Index(via[:], v)
		case <-time.After(mailtest.Timeout):
			t.Fatal("kim's reset was never sent")
		}
		inst[sender].kill(t)
		t.Logf("instance %d claimed kim's reset and was killed while sending it", sender)

		db, err := models.Open(dbURL, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer models.Close(db)
		var row models.Email
		if err := db.Where("\"to\" = ?", "kim@example.com").First(&row).Error; err != nil {
			t.Fatal(err)
		}
		// A reset for ada queued through each survivor wakes its outbox; both arriving shows
		// the survivors' outboxes ran after the kill, and each run reads every due mail.
		for i := range inst {
			if i != sender {
				c.get(i, "/password/forgot")
				c.post(i, "/password/forgot", url.Values{"email": {"ada@example.com"}})
			}
		}
		for got := 0; got < 2; {
			m := smtp.Next(t)
			switch m.To {
			case "kim@example.com":
				t.Fatalf("kim's reset delivered through %s while the killed instance's lease holds", m.Via)
			case "ada@example.com":
				if m.Via == via[sender] {
					t.Fatalf("a mail came from the killed instance")
				}
				got++
			}
		}
		var after models.Email
		if err := db.First(&after, row.ID).Error; err != nil {
			t.Fatal(err)
		}
		if after.Status != models.MailPending || after.Attempts != 0 || time.Until(after.NextAttemptAt) < 4*time.Minute {
			t.Errorf("kim's reset: %s, %d attempts, next attempt in %v; want pending, untried, the lease's 5 minutes ahead",
				after.Status, after.Attempts, time.Until(after.NextAttemptAt).Round(time.Second))
		}
		// After the lease another instance takes it: mail.TestOutboxLeaseOutlivesADeadSender.
	})
}

// instance is one Tally process.
type instance struct {
	n      int
	url    *url.URL
	stderr *testkit.SyncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would: no shutdown runs.
func (in *instance) kill(t *testing.T) {
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-in.exited
}

func startInstance(t *testing.T, bin string, env []string, n int) *instance {
	t.Helper()
	addr := testkit.FreeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), append(env, "TALLY_ADDR="+addr, "TALLY_DATA_DIR="+filepath.Join(t.TempDir(), "data"))...)
	exited := make(chan struct{})
	in := &instance{n: n, url: &url.URL{Scheme: "http", Host: addr}, stderr: &testkit.SyncBuffer{}, cmd: cmd, exited: exited}
	cmd.Stdout, cmd.Stderr = io.Discard, in.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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

// totpCode is the authenticator app's code of secret at t.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
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

// postJSON posts body as static/passkeys.js does: JSON, with the CSRF token in a header. It
// returns the status and the raw answer.
func (b *browser) postJSON(inst int, path string, body any) (int, []byte) {
	b.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base.String()+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	req.Header.Set("Origin", b.base.Scheme+"://"+b.base.Host)
	req.Header.Set("X-Test-Instance", strconv.Itoa(inst))
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res.StatusCode, out
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

// countVersions is the number of schema versions recorded in the database at url.
func countVersions(t *testing.T, url string) int64 {
	t.Helper()
	db, err := models.Open(url, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer models.Close(db)
	var n int64
	if err := db.Table("schema_migrations").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
