package handlers

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/cli"
	"tally/config"
	"tally/models"
	"tally/testkit/testdb"
)

// runCLI runs a command on ta's data dir with a database handle of its own, as the tally
// binary does. tty, when set, stands for a terminal: it answers the password prompts.
func (ta *testApp) runCLI(stdin string, tty []string, args ...string) (stdout, stderr string, err error) {
	ta.t.Helper()
	db, err := models.Open(DatabaseTarget(ta.cfg), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		ta.t.Fatal(err)
	}
	defer models.Close(db)
	var out, errOut bytes.Buffer
	cmd := &cli.CLI{Config: ta.cfg, DB: db, In: strings.NewReader(stdin), Out: &out, Err: &errOut, Now: ta.clock.Now, Hash: testHash}
	if tty != nil {
		cmd.TTY = func(context.Context) (string, error) {
			if len(tty) == 0 {
				return "", io.EOF
			}
			s := tty[0]
			tty = tty[1:]
			return s, nil
		}
	}
	err = cmd.Run(context.Background(), args)
	return out.String(), errOut.String(), err
}

func TestCLICreateSuperuser(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("taken", "taken@example.com", goodPassword)
	for _, tc := range []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"no flags without a terminal", goodPassword + "\n", nil, "give username with its flag"},
		{"no email", goodPassword + "\n", []string{"--username", "root"}, "give email with its flag"},
		{"invalid username", goodPassword + "\n", []string{"--username", "r o", "--email", "root@example.com"}, "Use 3 to 30"},
		{"taken username", goodPassword + "\n", []string{"--username", "TAKEN", "--email", "root@example.com"}, "taken"},
		{"invalid email", goodPassword + "\n", []string{"--username", "root", "--email", "root@"}, "valid email"},
		{"taken email", goodPassword + "\n", []string{"--username", "root", "--email", "Taken@example.com"}, "exists"},
		{"common password", "password123\n", []string{"--username", "root", "--email", "root@example.com"}, "too common"},
		{"password like the username", "rootroot1\n", []string{"--username", "rootroot", "--email", "root@example.com"}, "similar"},
		{"no password", "", []string{"--username", "root", "--email", "root@example.com"}, "input ended"},
		{"unknown flag", "", []string{"--staff"}, "not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ta.runCLI(tc.stdin, nil, append([]string{"createsuperuser"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			var n int64
			ta.db.Model(&models.User{}).Count(&n)
			if n != 1 {
				t.Errorf("%d users", n)
			}
		})
	}

	t.Run("script", func(t *testing.T) {
		out, _, err := ta.runCLI(goodPassword+"\n", nil, "createsuperuser", "--username", "root", "--email", "Root@Example.com")
		if err != nil || out != "Superuser root created.\n" {
			t.Fatalf("out %q, err %v", out, err)
		}
		u, err := models.FindUserByLogin(ta.db, "root")
		if err != nil || !u.IsSuperuser || !u.IsStaff || !u.IsActive || !u.IsVerified() || u.Email != "root@example.com" {
			t.Fatalf("user = %+v, %v", u, err)
		}
		if e := ta.lastEvent(u); e.Kind != models.EventAdminChange || e.Device != "Command line" {
			t.Errorf("event = %+v", e.SecurityEvent)
		}
		c := ta.signedIn("root")
		wantStatus(t, c.get("/admin/users"), http.StatusOK)
		wantStatus(t, c.post(userPath(u, "/staff"), url.Values{"grant": {"0"}}), http.StatusForbidden)
	})

	t.Run("terminal", func(t *testing.T) {
		// Answers: a bad username, then a good one; an email; a weak password, a mismatch, then
		// a good password twice.
		_, prompts, err := ta.runCLI("bad name!\nsuper2\nsuper2@example.com\n",
			[]string{"short", "short", goodPassword, "other" + goodPassword, goodPassword, goodPassword}, "createsuperuser")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Username: Error: Use 3 to 30", "Email: ", "Password: Password (again): Error: This password is too short",
			"Error: the two passwords do not match"} {
			if !strings.Contains(prompts, want) {
				t.Errorf("prompts lack %q:\n%s", want, prompts)
			}
		}
		ta.signedIn("super2")
	})
	t.Run("terminal, flags given", func(t *testing.T) {
		_, _, err := ta.runCLI("", []string{goodPassword, goodPassword}, "createsuperuser", "--username", "super3", "--email", "s3@example.com")
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestCLIChangePassword(t *testing.T) {
	ta := newTestApp(t)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	browser := ta.signedIn("bob")
	newPassword := "quartz-Lantern-77"

	if _, _, err := ta.runCLI("password\n", nil, "changepassword", "bob"); err == nil || !strings.Contains(err.Error(), "common") {
		t.Errorf("weak password: %v", err)
	}
	if _, _, err := ta.runCLI(newPassword+"\n", nil, "changepassword", "nobody"); err == nil || !strings.Contains(err.Error(), `no user "nobody"`) {
		t.Errorf("unknown user: %v", err)
	}
	if _, _, err := ta.runCLI(newPassword+"\n", nil, "changepassword"); err == nil {
		t.Error("no username accepted")
	}
	if ta.user(bob.ID).PasswordHash != bob.PasswordHash {
		t.Fatal("password changed by a failed command")
	}
	out, _, err := ta.runCLI(newPassword+"\r\n", nil, "changepassword", "bob")
	if err != nil || out != "Password of bob changed; 1 sessions signed out.\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
	if e := ta.lastEvent(bob); e.Kind != models.EventPasswordChange || e.Device != "Command line" {
		t.Errorf("event = %+v", e.SecurityEvent)
	}
	// The same notice as the page's: the running server's outbox sends what the command queued.
	ta.outbox.DeliverDue(context.Background())
	if m := ta.smtp.Next(t); m.Subject != "Your Tally password was changed" || m.To != "bob@example.com" {
		t.Errorf("notice = %q to %s", m.Subject, m.To)
	}
	// The server caches sessions; a change by another process is seen within two seconds.
	ta.clock.Advance(2 * time.Second)
	if res := browser.get("/dashboard"); res.StatusCode != http.StatusSeeOther {
		t.Error("bob's session survived the password change")
	}
	c := ta.client()
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"login": {"bob"}, "password": {goodPassword}}), http.StatusUnprocessableEntity)
	c.login("bob", newPassword)
}

func TestCLIUsersAndResetLink(t *testing.T) {
	ta := newTestApp(t, "TALLY_BASE_URL", "https://tally.example.org")
	ta.createAdmin("root", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)

	out, _, err := ta.runCLI("", nil, "users")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Fields(lines[0])[1] != "USERNAME" ||
		strings.Join(strings.Fields(lines[1])[:5], " ") != "1 root root@example.com Ada Lovelace" ||
		!strings.Contains(lines[1], "superuser") || !strings.Contains(lines[2], "bob@example.com") {
		t.Errorf("users:\n%s", out)
	}

	out, note, err := ta.runCLI("", nil, "reset-link", "BOB@example.com")
	if err != nil || !strings.HasPrefix(out, "https://tally.example.org/password/reset?token=") || !strings.Contains(note, "works once") {
		t.Fatalf("out %q, note %q, err %v", out, note, err)
	}
	c := ta.client()
	res := c.get(path(t, strings.TrimSpace(out)))
	wantStatus(t, res, http.StatusSeeOther)
	form := c.get(res.Header.Get("Location"))
	wantStatus(t, form, http.StatusOK)
	res = c.post("/password/reset", url.Values{"password": {"quartz-Lantern-77"}, "password_confirm": {"quartz-Lantern-77"}})
	wantStatus(t, res, http.StatusSeeOther)
	if ta.user(bob.ID).PasswordHash == bob.PasswordHash {
		t.Error("the printed link did not reset the password")
	}
	// Used once: the link is refused at once, before anything is kept for it.
	wantStatus(t, ta.client().get(path(t, strings.TrimSpace(out))), http.StatusBadRequest)
	if _, _, err := ta.runCLI("", nil, "reset-link", "nobody"); err == nil {
		t.Error("a link for nobody")
	}
}

func TestCLIUnlock(t *testing.T) {
	ta := newTestApp(t, append(behindProxy, "TALLY_LOCKOUT_THRESHOLD", "3")...)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	for i := range 3 {
		ta.client().tryLogin("bob", "wrong", "203.0.113."+strconv.Itoa(i+1))
		ta.client().tryLogin("ghost", "wrong", "203.0.113."+strconv.Itoa(i+1))
	}
	if res := ta.client().tryLogin("BOB@example.com", goodPassword, "198.51.100.7"); formError(res) != errLocked {
		t.Fatalf("not locked: %q", formError(res))
	}
	out, _, err := ta.runCLI("", nil, "unlock", "bob@EXAMPLE.com")
	if err != nil || out != "Sign-in for bob is unlocked.\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
	if e := ta.lastEvent(bob); e.Kind != models.EventAdminChange || !strings.Contains(e.Detail, "lockout cleared") {
		t.Errorf("event = %+v", e.SecurityEvent)
	}
	wantStatus(t, ta.client().tryLogin("bob", goodPassword, "198.51.100.7"), http.StatusSeeOther)

	if res := ta.client().tryLogin("ghost", "wrong", "198.51.100.8"); formError(res) != errLocked {
		t.Fatalf("ghost not locked: %q", formError(res))
	}
	if out, _, err := ta.runCLI("", nil, "unlock", "Ghost"); err != nil || !strings.Contains(out, "no account") {
		t.Fatalf("out %q, err %v", out, err)
	}
	if res := ta.client().tryLogin("ghost", "wrong", "198.51.100.8"); formError(res) != errBadLogin {
		t.Errorf("ghost still locked: %q", formError(res))
	}
	if _, _, err := ta.runCLI("", nil, "unlock"); err == nil {
		t.Error("unlock without a name")
	}
}

func TestCLIUsage(t *testing.T) {
	ta := newTestApp(t)
	out, _, err := ta.runCLI("", nil, "help")
	if err != nil || !strings.Contains(out, "createsuperuser") || !strings.Contains(out, "reset-link USERNAME") {
		t.Errorf("help: %q %v", out, err)
	}
	_, usage, err := ta.runCLI("", nil, "serve-please")
	if err == nil || !strings.Contains(err.Error(), `unknown command "serve-please"`) || !strings.Contains(usage, "Usage: tally") {
		t.Errorf("unknown command: %v, %q", err, usage)
	}
}

func TestCLIInterrupted(t *testing.T) {
	ta := newTestApp(t)
	db := ta.db
	ctx, cancel := context.WithCancel(context.Background())
	block := make(chan struct{})
	defer close(block)
	cmd := &cli.CLI{Config: ta.cfg, DB: db, In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Hash: testHash,
		TTY: func(context.Context) (string, error) { <-block; return "", nil }}
	cmd.In = blockingReader{block}
	cancel()
	if err := cmd.Run(ctx, []string{"createsuperuser"}); !errors.Is(err, cli.ErrInterrupted) {
		t.Errorf("err = %v", err)
	}
}

// blockingReader is a terminal nobody types into.
type blockingReader struct{ block chan struct{} }

func (r blockingReader) Read([]byte) (int, error) { <-r.block; return 0, io.EOF }

// TestCLIProcess is not a test: TestCLIWhileServing runs the test binary as a separate tally
// process with it, on the data dir given in the environment, as `tally ARGS...` would.
func TestCLIProcess(t *testing.T) {
	if os.Getenv("TALLY_TEST_CLI_PROCESS") != "1" {
		t.Skip("helper process of TestCLIWhileServing")
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(DatabaseTarget(cfg), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Migrate(db); err != nil {
		t.Fatal(err)
	}
	cmd := &cli.CLI{Config: cfg, DB: db, In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Hash: testHash}
	if err := cmd.Run(context.Background(), flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "tally:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestCLIWhileServing runs commands in other processes while the server handles logins on the
// same data dir: WAL, the busy timeout and immediate transactions make both sides wait their
// turn instead of failing with "database is locked".
func TestCLIWhileServing(t *testing.T) {
	ta := newTestApp(t)
	base := ta.listen()
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		ta.createUser(name, name+"@example.com", goodPassword)
	}
	tally := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestCLIProcess$", "--"}, args...)...)
		cmd.Env = append(os.Environ(), "TALLY_TEST_CLI_PROCESS=1", "TALLY_DATA_DIR="+ta.dir, "TALLY_SECRET="+string(ta.cfg.Secret),
			"TALLY_DATABASE_URL="+ta.cfg.DatabaseURL, testdb.OnePass)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var logins atomic.Int64
	errs := make(chan error, 100)
	for _, name := range []string{"alice", "bob", "carol", "alice", "bob", "carol"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := httpLogin(base, name, goodPassword); err != nil {
					errs <- err
					return
				}
				logins.Add(1)
			}
		}()
	}
	cmds := [][]string{{"createsuperuser", "--username", "root", "--email", "root@example.com"}, {"users"}, {"reset-link", "alice"}}
	for range 12 {
		cmds = append(cmds, []string{"changepassword", "dave"})
	}
	var cmdWG sync.WaitGroup
	for i, cmd := range cmds {
		cmdWG.Add(1)
		go func() {
			defer cmdWG.Done()
			if out, err := tally("quartz-Lantern-77\n", cmd...); err != nil {
				t.Errorf("command %d %v: %v\n%s", i, cmd, err, out)
			}
		}()
	}
	cmdWG.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if logins.Load() < 3 {
		t.Errorf("only %d logins ran beside the commands", logins.Load())
	}
	t.Logf("%d logins beside %d commands", logins.Load(), len(cmds))
	var check string
	if testdb.Postgres() {
		check = "ok" // Postgres has no integrity_check; its own checks run on every write
	} else if err := ta.db.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	if _, err := models.FindUserByLogin(ta.db, "root"); err != nil {
		t.Errorf("root: %v", err)
	}
	if err := httpLogin(base, "root", "quartz-Lantern-77"); err != nil {
		t.Error(err)
	}
}

// httpLogin logs in over real HTTP and opens the dashboard.
func httpLogin(base, username, password string) error {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := hc.Get(base + "/login")
	if err != nil {
		return err
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if err != nil {
		return err
	}
	token := doc.Find(`input[name="_csrf"]`).AttrOr("value", "")
	res, err = hc.PostForm(base+"/login", url.Values{"_csrf": {token}, "login": {username}, "password": {password}})
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/dashboard" {
		return fmt.Errorf("login %s: %d at %s", username, res.StatusCode, res.Request.URL.Path)
	}
	return nil
}
