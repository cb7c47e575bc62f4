// Package testdb decides which database a test gets. A package's TestMain calls Main, which
// runs the package's tests on SQLite and then, when TALLY_TEST_POSTGRES_URL names a Postgres
// cluster (an administrator's URL), a second time on Postgres; Target gives each test its
// database for the pass that is running. It imports nothing from tally, so every package's
// tests may use it.
package testdb

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the environment variable holding the administrator's URL of a Postgres cluster
// the tests may create and drop databases in.
const EnvURL = "TALLY_TEST_POSTGRES_URL"

// OnePass is the environment entry (NAME=1) for a test binary started as a helper process by
// a test: its Main runs the tests once, on whatever database the helper is told to use.
const OnePass = "TALLY_TESTDB_ONE_PASS=1"

var (
	postgres atomic.Bool
	admin    *sql.DB  // the cluster's postgres database, for CREATE and DROP DATABASE
	adminURL *url.URL // the URL admin was opened with
	template string   // the database every test's database is copied from
	serial   atomic.Uint64
	runID    string // tells this process's databases from other processes'

	// Copying the template (a few hundred milliseconds) and dropping a database happen beside
	// the tests: copiers keep ready filled ahead of Target, and drops run in the background.
	ready      chan copied
	stopCopies chan struct{}
	copiers    sync.WaitGroup
	drops      sync.WaitGroup
)

// copied is a database copied from the template, or the error of the copy.
type copied struct {
	name string
	err  error
}

const (
	copiersCount = 2
	readyAhead   = 4
)

// Postgres reports whether the Postgres pass is running.
func Postgres() bool {
	noteEnv()
	return postgres.Load()
}

// noteEnv reads the variables Main depends on while a test runs, so go test's cache keys the
// package's result on them (it records only what tests read, not what TestMain reads around
// them).
func noteEnv() { _, _ = os.Getenv(EnvURL), os.Getenv("CI") }

// Main runs m on SQLite, then on Postgres when TALLY_TEST_POSTGRES_URL is set, and returns the
// exit code for os.Exit. prepare (may be nil) runs once on the Postgres pass, on the database
// every test's database is then copied from (CREATE DATABASE … TEMPLATE), so work such as
// migrating is not repeated per test; it must close its connections before returning. Without
// the variable the Postgres pass is skipped with one line on stdout, and under CI=true that
// skip fails the package.
func Main(m *testing.M, prepare func(url string) error) int {
	if name, value, _ := strings.Cut(OnePass, "="); os.Getenv(name) == value {
		return m.Run()
	}
	if code := m.Run(); code != 0 {
		return code
	}
	raw := os.Getenv(EnvURL)
	if raw == "" {
		if os.Getenv("CI") == "true" {
			fmt.Printf("testdb: %s is not set: the Postgres pass cannot be skipped under CI=true\n", EnvURL)
			return 1
		}
		fmt.Printf("testdb: %s is not set: the Postgres pass was skipped\n", EnvURL)
		return 0
	}
	if err := start(raw, prepare); err != nil {
		fmt.Printf("testdb: Postgres pass: %v\n", err)
		stop()
		return 1
	}
	defer stop()
	postgres.Store(true)
	defer postgres.Store(false)
	fmt.Println("testdb: Postgres pass")
	return m.Run()
}

func start(raw string, prepare func(url string) error) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvURL, err)
	}
	adminURL = u
	if admin, err = sql.Open("pgx", raw); err != nil {
		return err
	}
	if err := admin.Ping(); err != nil {
		return fmt.Errorf("connect to %s: %w", u.Redacted(), err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	runID = fmt.Sprintf("%s_%d_%s", packageName(), os.Getpid(), hex.EncodeToString(b[:]))
	name := "tally_tpl_" + runID
	if _, err := admin.Exec("CREATE DATABASE " + quote(name)); err != nil {
		return fmt.Errorf("create the template database: %w", err)
	}
	template = name
	if prepare != nil {
		if err := prepare(databaseURL(name)); err != nil {
			return fmt.Errorf("prepare the template database: %w", err)
		}
	}
	ready, stopCopies = make(chan copied, readyAhead), make(chan struct{})
	for range copiersCount {
		copiers.Go(copyTemplate)
	}
	return nil
}

// copyTemplate copies the template into ready until stop. Copies of one template may run at
// once: CREATE DATABASE refuses only a template with sessions connected to it.
func copyTemplate() {
	for {
		name := fmt.Sprintf("tally_t_%s_%d", runID, serial.Add(1))
		_, err := admin.Exec("CREATE DATABASE " + quote(name) + " TEMPLATE " + quote(template))
		select {
		case ready <- copied{name, err}:
		case <-stopCopies:
			if err == nil {
				drop(name)
			}
			return
		}
	}
}

// drop drops a database in the background; FORCE ends connections a test left open.
func drop(name string) {
	drops.Go(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + quote(name) + " WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: drop database %s: %v\n", name, err)
		}
	})
}

func stop() {
	if admin == nil {
		return
	}
	if stopCopies != nil {
		close(stopCopies)
		copiers.Wait()
		for len(ready) > 0 {
			if c := <-ready; c.err == nil {
				drop(c.name)
			}
		}
		stopCopies = nil
	}
	drops.Wait()
	if template != "" {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + quote(template) + " WITH (FORCE)")
		template = ""
	}
	_ = admin.Close()
	admin = nil
}

// Target is the database a test opens (models.Open's argument): tally.db in dir on the SQLite
// pass, and on the Postgres pass the URL of a fresh database copied from the prepared
// template, dropped when the test ends.
func Target(tb testing.TB, dir string) string {
	tb.Helper()
	if !Postgres() {
		return filepath.Join(dir, "tally.db")
	}
	c := <-ready
	if c.err != nil {
		tb.Fatalf("testdb: create database: %v", c.err)
	}
	tb.Cleanup(func() { drop(c.name) })
	return databaseURL(c.name)
}

// SkipOnPostgres skips the test on the Postgres pass, for behaviour only SQLite has (a file,
// a pragma, a query plan).
func SkipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if Postgres() {
		tb.Skip("SQLite only: " + why)
	}
}

func databaseURL(name string) string {
	u := *adminURL
	u.Path = "/" + name
	return u.String()
}

// packageName is the test binary's name (models.test gives models), fit for a database name.
func packageName() string {
	base := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() == 16 {
			break
		}
	}
	return b.String()
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
