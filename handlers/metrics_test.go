package handlers

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"tally/models"
	"tally/testkit/testdb"
)

var metricsToken = strings.Repeat("m", 40)

// scrape reads /metrics through c with the token into a map from series
// (`name{label="value",...}`, labels sorted as Prometheus writes them) to value.
func (c *client) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	res := c.get("/metrics", "Authorization", "Bearer "+metricsToken)
	wantStatus(t, res, http.StatusOK)
	return parseMetrics(t, res.body)
}

func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unreadable metric line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsAccess(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		// listen serves the app on a loopback listener (the peer is 127.0.0.1); app.Test's
		// peer is 0.0.0.0, another machine.
		listen  bool
		headers []string
		want    int
	}{
		{"off: loopback", nil, true, nil, http.StatusNotFound},
		{"off: with a token", []string{"TALLY_METRICS_TOKEN", ""}, false, []string{"Authorization", "Bearer " + metricsToken}, http.StatusNotFound},
		{"on: loopback", []string{"TALLY_METRICS", "1"}, true, nil, http.StatusOK},
		{"on: another machine", []string{"TALLY_METRICS", "1"}, false, nil, http.StatusNotFound},
		{"on: loopback through a proxy", []string{"TALLY_METRICS", "1"}, true, []string{"X-Forwarded-For", "203.0.113.9"}, http.StatusNotFound},
		{"on: loopback through a trusted proxy", []string{"TALLY_METRICS", "1", "TALLY_TRUSTED_PROXIES", "127.0.0.1"}, true, []string{"X-Forwarded-For", "203.0.113.9"}, http.StatusNotFound},
		{"on: loopback through a proxy that forwards loopback", []string{"TALLY_METRICS", "1"}, true, []string{"Forwarded", "for=127.0.0.1"}, http.StatusNotFound},
		{"token: another machine with it", []string{"TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken}, false, []string{"Authorization", "Bearer " + metricsToken}, http.StatusOK},
		{"token: through a proxy with it", []string{"TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken}, false, []string{"Authorization", "Bearer " + metricsToken, "X-Forwarded-For", "203.0.113.9"}, http.StatusOK},
		{"token: a wrong one", []string{"TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken}, false, []string{"Authorization", "Bearer " + metricsToken[1:] + "x"}, http.StatusNotFound},
		{"token: not as a bearer", []string{"TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken}, false, []string{"Authorization", metricsToken}, http.StatusNotFound},
		{"token: none", []string{"TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken}, false, nil, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if len(env) == 2 && env[1] == "" {
				env = nil
			}
			ta := newTestApp(t, env...)
			var status int
			var body string
			if tc.listen {
				base := ta.listen()
				req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
				setHeaders(req, tc.headers)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				status, body = res.StatusCode, string(b)
			} else {
				res := ta.client().get("/metrics", tc.headers...)
				status, body = res.StatusCode, res.body
			}
			if status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			if has := strings.Contains(body, "tally_build_info"); has != (tc.want == http.StatusOK) {
				t.Errorf("metrics shown: %v", has)
			}
		})
	}
}

func TestMetricsCountRequestsLoginsAndStores(t *testing.T) {
	ta := newTestApp(t, "TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken, "TALLY_BACKUP_DIR", t.TempDir())
	ta.createUser("ada", "ada@example.com", goodPassword)
	scraper := ta.client()
	before := scraper.scrape(t)

	c := ta.client()
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"login": {"ada"}, "password": {"wrong"}}), http.StatusUnprocessableEntity)
	c.login("ada", goodPassword)
	wantStatus(t, c.get("/accounts/987654"), http.StatusNotFound)
	wantStatus(t, c.get("/no/such/page"), http.StatusNotFound)
	after := scraper.scrape(t)

	for series, want := range map[string]float64{
		`tally_http_requests_total{method="GET",route="/login",status="200"}`:             2,
		`tally_http_requests_total{method="POST",route="/login",status="422"}`:            1,
		`tally_http_requests_total{method="POST",route="/login",status="303"}`:            1,
		`tally_http_requests_total{method="GET",route="/accounts/:id<int>",status="404"}`: 1,
		`tally_http_requests_total{method="GET",route="none",status="404"}`:               1,
		`tally_http_request_duration_seconds_count{method="GET",route="/login"}`:          2,
		`tally_logins_total{outcome="rejected",route="/login"}`:                           1,
		`tally_logins_total{outcome="accepted",route="/login"}`:                           1,
		`tally_sessions`: 1,
		// The first scrape itself, counted once it was answered.
		`tally_http_requests_total{method="GET",route="/metrics",status="200"}`: 1,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	for series := range after {
		if strings.Contains(series, "987654") || strings.Contains(series, "/no/such") {
			t.Errorf("a path became a label: %s", series)
		}
	}
	// The database's size: tally.db's file on SQLite, the whole database on Postgres. Scheduled
	// backups run on SQLite only.
	dbBytes := `tally_database_bytes{file="tally.db"}`
	wantSeries := []string{`tally_hash_gate_queue`, `tally_mail_outbox{status="pending"}`,
		`tally_mail_oldest_due_seconds`, `tally_login_locks`, `tally_ready`, `go_goroutines`}
	if testdb.Postgres() {
		var name string
		if err := ta.db.Raw("SELECT current_database()").Scan(&name).Error; err != nil {
			t.Fatal(err)
		}
		dbBytes = `tally_database_bytes{file="` + name + `"}`
	} else {
		wantSeries = append(wantSeries, `tally_backup_last_failed`, `tally_backup_last_success_timestamp_seconds`)
	}
	for _, series := range append(wantSeries, dbBytes) {
		if _, ok := after[series]; !ok {
			t.Errorf("no %s", series)
		}
	}
	if after[dbBytes] <= 0 || after["tally_ready"] != 1 {
		t.Errorf("database bytes %v, ready %v", after[dbBytes], after["tally_ready"])
	}
	if _, ok := after["tally_backup_age_seconds"]; ok {
		t.Error("a backup age without any backup")
	}

	// A backup makes the age appear (SQLite); a lockout shows in the locks.
	if !testdb.Postgres() {
		if _, err := ta.srv.h.ops.backups.BackUp(t.Context(), "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := models.Lock(ta.db, "login:someone", ta.clock.Now(), ta.clock.Now().Add(ta.cfg.LockoutDuration)); err != nil {
		t.Fatal(err)
	}
	last := scraper.scrape(t)
	if age, ok := last["tally_backup_age_seconds"]; !testdb.Postgres() && (!ok || age != 0) {
		t.Errorf("backup age = %v, %v (the test clock stands still)", age, ok)
	}
	if last["tally_login_locks"] != before["tally_login_locks"]+1 {
		t.Errorf("locks %v then %v", before["tally_login_locks"], last["tally_login_locks"])
	}
}

// A lockout counts once, when it is made: further failures while locked do not count again.
func TestMetricsCountLockouts(t *testing.T) {
	ta := newTestApp(t, "TALLY_METRICS", "1", "TALLY_METRICS_TOKEN", metricsToken, "TALLY_LOCKOUT_THRESHOLD", "3")
	ta.createUser("ada", "ada@example.com", goodPassword)
	scraper := ta.client()
	before := scraper.scrape(t)
	c := ta.client()
	c.get("/login")
	for range 5 {
		wantStatus(t, c.post("/login", url.Values{"login": {"ada"}, "password": {"wrong"}}), http.StatusUnprocessableEntity)
	}
	if got := scraper.scrape(t)["tally_lockouts_total"] - before["tally_lockouts_total"]; got != 1 {
		t.Errorf("tally_lockouts_total moved by %v after five wrong passwords at a threshold of 3, want 1", got)
	}
}

// /readyz answers 503 once the server drains; /healthz still 200. (While a start migrates,
// main answers "migrating": main_starting_test.go.)
func TestReadyzWhileShuttingDown(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	ready := func(want int, body string) {
		t.Helper()
		res := c.get("/readyz")
		wantStatus(t, res, want)
		if res.body != body {
			t.Errorf("/readyz = %q, want %q", res.body, body)
		}
	}
	ready(http.StatusOK, "ready")
	ta.srv.Draining()
	ready(http.StatusServiceUnavailable, "shutting down")
	// Liveness is another question: the process is fine.
	wantStatus(t, c.get("/healthz"), http.StatusOK)
}

func TestVersionAPIForStaffOnly(t *testing.T) {
	ta := newTestApp(t)
	wantStatus(t, ta.client().get("/api/version"), http.StatusUnauthorized)
	_, user := ta.signedInAda()
	wantStatus(t, user.get("/api/version"), http.StatusNotFound)

	staff := ta.createUser("grace", "grace@example.com", goodPassword)
	if err := ta.db.Model(staff).Update("is_staff", true).Error; err != nil {
		t.Fatal(err)
	}
	c := ta.client()
	c.login("grace", goodPassword)
	res := c.get("/api/version")
	wantStatus(t, res, http.StatusOK)
	var v struct {
		Version string `json:"version"`
		Go      string `json:"go"`
	}
	if err := json.Unmarshal([]byte(res.body), &v); err != nil || v.Version == "" || !strings.HasPrefix(v.Go, "go1.") {
		t.Errorf("/api/version = %s (%v)", res.body, err)
	}
}
