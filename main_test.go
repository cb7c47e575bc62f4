package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/testkit"
)

func TestRunServesAndShutsDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := testkit.FreeAddr(t)
	env := map[string]string{"TALLY_ADDR": addr, "TALLY_DATA_DIR": dir}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr testkit.SyncBuffer
	stdoutR, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, nil, func(k string) string { return env[k] }, nil, stdout, &stderr)
		stdout.Close() // unblocks the banner read if run fails early
		done <- err
	}()

	// run prints its address once the listener is open: reading that line is the signal.
	banner, err := bufio.NewReader(stdoutR).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()
	if !strings.Contains(banner, "http://"+addr) {
		t.Errorf("banner = %q", banner)
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Errorf("/healthz = %d %q", res.StatusCode, body)
	}
	for _, f := range []string{"tally.db", "sessions.db", "secret.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "secret.key")); err == nil && fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key mode = %v", fi.Mode().Perm())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
	if !strings.Contains(stderr.String(), "method=GET path=/healthz status=200") {
		t.Errorf("no request log line: %s", stderr.String())
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"prod over plain http", map[string]string{"TALLY_ENV": "prod", "TALLY_BASE_URL": "http://tally.example.com"}, "https"},
		{"unknown env", map[string]string{"TALLY_ENV": "staging"}, "TALLY_ENV"},
		{"bad idle", map[string]string{"TALLY_SESSION_IDLE": "soon"}, "TALLY_SESSION_IDLE"},
		{"short secret", map[string]string{"TALLY_SECRET": "short"}, "TALLY_SECRET"},
		{"bad proxy", map[string]string{"TALLY_TRUSTED_PROXIES": "10.0.0.0/8, nonsense"}, "TALLY_TRUSTED_PROXIES"},
		{"bad smtp", map[string]string{"TALLY_SMTP_URL": "http://mail.example.com"}, "TALLY_SMTP_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.env["TALLY_DATA_DIR"] = t.TempDir()
			tc.env["TALLY_ADDR"] = testkit.FreeAddr(t)
			err := run(context.Background(), nil, func(k string) string { return tc.env[k] }, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
	t.Run("prod over http when told", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // start and stop at once: only the configuration is checked
		env := map[string]string{"TALLY_ENV": "prod", "TALLY_BASE_URL": "http://tally.lan", "TALLY_ALLOW_HTTP": "1",
			"TALLY_DATA_DIR": t.TempDir(), "TALLY_ADDR": testkit.FreeAddr(t)}
		if err := run(ctx, nil, func(k string) string { return env[k] }, nil, io.Discard, io.Discard); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}

// TestRunCommands: with arguments, run runs a command on the data dir instead of the server.
func TestRunCommands(t *testing.T) {
	env := map[string]string{"TALLY_DATA_DIR": filepath.Join(t.TempDir(), "data"), "TALLY_BASE_URL": "https://tally.example.org"}
	getenv := func(k string) string { return env[k] }
	tally := func(stdin string, args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, io.Discard)
		return out.String(), err
	}
	if _, err := tally("tangerine-Umbrella-42\n", "createsuperuser", "--username", "root", "--email", "root@example.com"); err != nil {
		t.Fatal(err)
	}
	if out, err := tally("", "users"); err != nil || !strings.Contains(out, "root@example.com") {
		t.Errorf("users: %q %v", out, err)
	}
	if out, err := tally("", "reset-link", "root"); err != nil || !strings.HasPrefix(out, "https://tally.example.org/password/reset?token=") {
		t.Errorf("reset-link: %q %v", out, err)
	}
	if _, err := tally("", "frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %v", err)
	}
}

func TestTuneRuntime(t *testing.T) {
	limit, percent := debug.SetMemoryLimit(-1), debug.SetGCPercent(100)
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
	})
	for _, tc := range []struct {
		name        string
		env         map[string]string
		wantLimit   int64
		wantPercent int
	}{
		{"defaults", nil, memoryLimit, gcPercent},
		{"operator's GOMEMLIMIT", map[string]string{"GOMEMLIMIT": "1GiB"}, 12345 << 20, gcPercent},
		{"operator's GOGC", map[string]string{"GOGC": "200"}, memoryLimit, 150},
		{"both", map[string]string{"GOMEMLIMIT": "off", "GOGC": "off"}, 12345 << 20, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// What the runtime took from the operator's variables at start.
			debug.SetMemoryLimit(12345 << 20)
			debug.SetGCPercent(150)
			tuneRuntime(func(k string) string { return tc.env[k] })
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit %d MiB, want %d MiB", got>>20, tc.wantLimit>>20)
			}
			if got := debug.SetGCPercent(150); got != tc.wantPercent {
				t.Errorf("GOGC %d, want %d", got, tc.wantPercent)
			}
		})
	}
}

// TestRunPrintsMailWithoutSMTP: with no SMTP configured in dev, registering prints the
// verification mail on standard output as a block whose link stands alone on its line.
func TestRunPrintsMailWithoutSMTP(t *testing.T) {
	addr := testkit.FreeAddr(t)
	env := map[string]string{"TALLY_ADDR": addr, "TALLY_DATA_DIR": t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testkit.SyncBuffer
	stdoutR, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, nil, func(k string) string { return env[k] }, nil, stdout, &stderr)
		stdout.Close()
		done <- err
	}()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdoutR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	if banner := <-lines; !strings.Contains(banner, addr) {
		t.Fatalf("banner = %q\n%s", banner, stderr.String())
	}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + addr
	res, err := hc.Get(base + "/register")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	res, err = hc.PostForm(base+"/register", url.Values{"_csrf": {doc.Find(`input[name="_csrf"]`).AttrOr("value", "")},
		"username": {"newcomer"}, "email": {"newcomer@example.com"}, "first_name": {"New"}, "last_name": {"Comer"},
		"password": {testkit.Password}, "password_confirm": {testkit.Password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register: %d", res.StatusCode)
	}

	var block []string
	timeout := time.After(30 * time.Second)
	for link := ""; link == ""; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout ended; got:\n%s", strings.Join(block, "\n"))
			}
			block = append(block, l)
			if strings.HasPrefix(l, base+"/verify?token=") {
				link = l
			}
		case <-timeout:
			t.Fatalf("no verification link alone on a line of stdout; got:\n%s", strings.Join(block, "\n"))
		}
	}
	text := strings.Join(block, "\n")
	for _, want := range []string{strings.Repeat("-", 72), "To:      newcomer@example.com", "Subject: Confirm your email address for Tally"} {
		if !strings.Contains(text, want) {
			t.Errorf("block lacks %q:\n%s", want, text)
		}
	}
	cancel()
	go func() {
		for range lines {
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if log := stderr.String(); !strings.Contains(log, `msg="mail logged`) || strings.Contains(log, "token=") {
		t.Errorf("the log line should name the mail without its link:\n%s", log)
	}
}
