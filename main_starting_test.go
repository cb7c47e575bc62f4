package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/models"
	"tally/models/schema"
	"tally/testkit"
	"tally/testkit/testdb"
)

// A start whose schema upgrade is held answers on its port while it waits: /healthz 200,
// /readyz 503 "migrating", any other request 503 with Retry-After and the app's no-store and
// security headers. Released, the same port serves the app, without refusing or dropping a
// request during the switch. The hold is real: on Postgres the migration's advisory lock, taken
// by another connection; on SQLite the backup made before upgrading a data dir at version 1,
// reading a secret.key that is a named pipe.
func TestRunAnswersWhileMigrating(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := testkit.FreeAddr(t)
	env := map[string]string{"TALLY_ADDR": addr, "TALLY_DATA_DIR": dir,
		"TALLY_SECRET": "starting-test-secret-0123456789abcdef0123456789"}
	var hold *upgradeHold
	if testdb.Postgres() {
		env["TALLY_DATABASE_URL"] = testdb.Target(t, dir)
		hold = holdMigrationLock(t, env["TALLY_DATABASE_URL"])
	} else {
		hold = holdUpgradeBackup(t, dir)
	}

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

	// The start is inside the upgrade: its port was opened before, so the first request answers.
	hold.waitHeld(t, done, &stderr)
	base := "http://" + addr
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return res, string(body)
	}
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
		retryAfter   bool
	}{
		{"GET", "/readyz", http.StatusServiceUnavailable, "migrating", false},
		{"GET", "/healthz", http.StatusOK, "ok", false},
		{"GET", "/login", http.StatusServiceUnavailable, "Tally is starting: upgrading its database.\n", true},
		{"POST", "/login", http.StatusServiceUnavailable, "Tally is starting: upgrading its database.\n", true},
	} {
		res, body := get(tc.method, tc.path)
		if res.StatusCode != tc.status || body != tc.body {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, res.StatusCode, body, tc.status, tc.body)
		}
		if got := res.Header.Get("Retry-After") != ""; got != tc.retryAfter {
			t.Errorf("%s %s: Retry-After %q", tc.method, tc.path, res.Header.Get("Retry-After"))
		}
		for name, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
			"Content-Type": "text/plain; charset=utf-8"} {
			if got := res.Header.Get(name); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.path, name, got, want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s %s: Content-Security-Policy %q", tc.method, tc.path, csp)
		}
	}
	select {
	case l := <-lines:
		t.Errorf("printed %q before the database was open", l)
	default:
	}

	// Released, the port answers "migrating" until the app serves, then the app answers there.
	hold.release(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, body := get("GET", "/readyz")
		if res.StatusCode == http.StatusOK && body == "ready" {
			break
		}
		if res.StatusCode != http.StatusServiceUnavailable || body != "migrating" {
			t.Fatalf("/readyz = %d %q during the switch", res.StatusCode, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready 30 s after the upgrade was released:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
	}
	if banner := <-lines; !strings.HasPrefix(banner, "Tally is running at ") {
		t.Errorf("banner = %q", banner)
	}
	res, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || doc.Find(`form input[name="_csrf"]`).Length() != 1 {
		t.Errorf("/login after the start = %d, without its form", res.StatusCode)
	}

	cancel()
	go func() {
		for range lines {
		}
	}()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
}

// upgradeHold keeps a start inside its schema upgrade until released.
type upgradeHold struct {
	// held returns nil once the start waits on the hold, or an error if it cannot tell yet.
	held    func() error
	release func(t *testing.T)
}

// waitHeld polls until the start waits on the hold, failing if run returns first.
func (h *upgradeHold) waitHeld(t *testing.T, done <-chan error, stderr *testkit.SyncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := h.held()
		if err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before reaching the upgrade: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the start did not reach the held upgrade in 30 s: %v\n%s", err, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
	}
}

// migrationLock is models' migrationLock, the advisory lock a migrating instance holds.
const migrationLock = 0x74616c6c79

// holdMigrationLock takes the migration lock on dbURL's database from a connection of its own,
// as another instance migrating would; held reports when a start waits for it.
func holdMigrationLock(t *testing.T, dbURL string) *upgradeHold {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func(t *testing.T) {
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
				t.Error(err)
			}
			conn.Close()
		})
	}
	t.Cleanup(func() { release(t) })
	return &upgradeHold{
		held: func() error {
			var waiting int
			err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks
				WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting)
			if err == nil && waiting == 0 {
				err = errors.New("no connection waits for the migration lock")
			}
			return err
		},
		release: release,
	}
}

// holdUpgradeBackup makes dir a data dir at schema version 1 whose secret.key is a named pipe
// (the server takes its secret from TALLY_SECRET, so only the backup before the upgrade reads
// the file): the backup waits on the pipe until released, when the test writes a secret into it.
func holdUpgradeBackup(t *testing.T, dir string) *upgradeHold {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	db, err := models.Open(filepath.Join(dir, "tally.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	_, err = models.RunMigrations(context.Background(), db, schema.Migrations(log)[:1], models.MigrateOptions{})
	models.Close(db)
	if err != nil {
		t.Fatal(err)
	}
	pipe := filepath.Join(dir, "secret.key")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opening the pipe to write returns once a reader has opened it: the backup.
	opened := make(chan *os.File, 1)
	go func() {
		f, err := os.OpenFile(pipe, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		opened <- f
	}()
	var writer *os.File
	var once sync.Once
	release := func(t *testing.T) {
		once.Do(func() {
			if writer == nil {
				// No reader came: be one, so the open above returns.
				r, err := os.OpenFile(pipe, os.O_RDONLY|syscall.O_NONBLOCK, 0)
				if err == nil {
					defer r.Close()
				}
				writer = <-opened
			}
			if writer == nil {
				return
			}
			if _, err := writer.WriteString("pre-upgrade-backup-secret-0123456789abcdef\n"); err != nil {
				t.Error(err)
			}
			writer.Close()
		})
	}
	t.Cleanup(func() { release(t) })
	return &upgradeHold{
		held: func() error {
			if writer != nil {
				return nil
			}
			select {
			case writer = <-opened:
				return nil
			default:
				return errors.New("the backup has not opened secret.key")
			}
		},
		release: release,
	}
}
