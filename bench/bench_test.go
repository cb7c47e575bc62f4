package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"tally/importer"
	"tally/money"
	"tally/testkit/testdb"
)

// fakeRun is a run of n requests of latency lat each over one second, ok answering code.
func fakeRun(name string, offered float64, n int, lat time.Duration, code int, ok bool) *runStats {
	s := newStats(name, offered)
	start := time.Unix(1_800_000_000, 0)
	for i := range n {
		s.add(&vegeta.Result{Code: uint16(code), Latency: lat,
			Timestamp: start.Add(time.Duration(i) * time.Second / time.Duration(n))}, ok)
	}
	return s
}

// perSecond is fakeRun over exactly one second, so its rate is n.
func perSecond(name string, n int, lat time.Duration, code int) *runStats {
	s := fakeRun(name, 0, n, lat, code, true)
	s.end = s.start.Add(time.Second)
	return s
}

// withServerTimes gives each answer of s the server time d.
func withServerTimes(s *runStats, d time.Duration) *runStats {
	for range s.ok {
		s.server = append(s.server, d)
	}
	return s
}

// fakeResults is a whole run's measurements, without running any load.
func fakeResults() *results {
	ls := &ledgerSeed{index: 500, asked: 50_000, took: 14 * time.Second, userRows: 52_345, accountID: 7,
		account: "Checking", accountRows: 41_234, categoryID: 3, category: "Groceries", payee: "Starbucks",
		from: "2025-12-07", to: "2026-12-06", currency: "USD", reportFrom: "2026-01", month: "2026-12", reportRows: 17_890,
		budgetCategories: []budgetAmount{{3, "400.00"}, {9, "5000.00"}}, budgeted: 2}
	var times []pageTimes
	for i, p := range ls.sampledPages() {
		times = append(times, pageTimes{p, withServerTimes(fakeRun("time "+p.name, sampleRate, 100, 2*time.Millisecond, 200, true),
			time.Duration(i+1)*time.Millisecond)})
	}
	r := &results{
		machine: machineInfo(), dur: 3 * time.Second, binaryBytes: 18 << 20, workers: 32,
		hashRuns:     []*runStats{perSecond("hash 1", 45, 40*time.Millisecond, 200), perSecond("hash 2", 45, 40*time.Millisecond, 200)},
		httpHashRuns: []*runStats{perSecond("http hash 1", 40, 50*time.Millisecond, 303), perSecond("http hash 2", 40, 50*time.Millisecond, 303)},
		loginRuns:    []*runStats{perSecond("login 1", 38, 60*time.Millisecond, 303)},
		floor:        fakeRun("floor", 0, 20000, time.Millisecond, 200, true),
		dashboard:    fakeRun("dashboard", 0, 4000, 5*time.Millisecond, 200, true),
		dashHalf:     fakeRun("dashboard half", 2000, 2000, 2*time.Millisecond, 200, true),
		flood:        fakeRun("flood", 2000, 2000, 3*time.Millisecond, 200, true),
		floodLogin:   fakeRun("flood logins", 180, 180, time.Millisecond, 503, true),
		ledger:       ls,
		register:     fakeRun("register", 0, 6000, 4*time.Millisecond, 200, true),
		registerHalf: withServerTimes(fakeRun("register half", 3000, 3000, 3*time.Millisecond, 200, true), time.Millisecond),
		report:       fakeRun("report", 0, 1000, 12*time.Millisecond, 200, true),
		reportHalf:   withServerTimes(fakeRun("report half", 500, 500, 8*time.Millisecond, 200, true), 4*time.Millisecond),
		serverTimes:  times,
		starts:       []time.Duration{20 * time.Millisecond, 30 * time.Millisecond, 25 * time.Millisecond},
	}
	r.hash, r.httpHash, r.login = merge("hash", r.hashRuns), merge("http hash", r.httpHashRuns), merge("login", r.loginRuns)
	return r
}

// TestReportJSON checks the JSON shape the issue asks for, without running any load.
func TestReportJSON(t *testing.T) {
	r := fakeResults()
	b, err := json.Marshal(buildReport(r))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenarios", "binary_mib", "start_ms", "ledger", "server_times"} {
		if _, ok := got[k]; !ok {
			t.Errorf("report has no %q: %s", k, b)
		}
	}
	if got["binary_mib"] != 18.0 || got["start_ms"] != 25.0 {
		t.Errorf("binary_mib %v, start_ms %v; want 18 and the median 25", got["binary_mib"], got["start_ms"])
	}
	rows, _ := got["scenarios"].([]any)
	var names []string
	for _, x := range rows {
		s, _ := x.(map[string]any)
		names = append(names, s["name"].(string))
		for _, k := range []string{"name", "rps", "p50_ms", "p99_ms", "limit", "ratio", "rss_mib", "errors"} {
			if _, ok := s[k]; !ok {
				t.Errorf("scenario %v has no %q", s["name"], k)
			}
		}
		if _, ok := s["p99_half_ms"]; ok != (s["name"] == "dashboard" || s["name"] == "register" || s["name"] == "report") {
			t.Errorf("scenario %v: p99_half_ms present %t; want it on dashboard, register and report only", s["name"], ok)
		}
		if _, ok := s["ratio_http_hash"]; ok != (s["name"] == "login") {
			t.Errorf("scenario %v: ratio_http_hash present %t; want it on login only", s["name"], ok)
		}
	}
	if want := []string{"hash", "http hash", "login", "floor", "dashboard", "flood", "register", "report"}; !slices.Equal(names, want) {
		t.Fatalf("scenario names %v, want %v", names, want)
	}
	httpHash, login, dash, reg := rows[1].(map[string]any), rows[2].(map[string]any), rows[4].(map[string]any), rows[6].(map[string]any)
	spending := rows[7].(map[string]any)
	if httpHash["rps"] != 40.0 || httpHash["limit"] != 45.0 || httpHash["ratio"] != 0.89 {
		t.Errorf("http hash row %v: want 40 req/s, limit A 45, ratio 0.89", httpHash)
	}
	if login["limit"] != 45.0 || login["ratio"] != 0.84 || login["ratio_http_hash"] != 0.95 {
		t.Errorf("login row %v: want limit A 45, ratio 0.84 (38/45), ratio_http_hash 0.95 (38/40)", login)
	}
	if dash["ratio"] != 0.2 || dash["p99_ms"] != 5.0 || dash["p99_half_ms"] != 2.0 {
		t.Errorf("dashboard row %v: want ratio 0.2 (4000/20000), p99 5, p99_half 2", dash)
	}
	if reg["limit"] != dash["limit"] || reg["ratio"] != 0.3 || reg["p99_half_ms"] != 3.0 || reg["register_rows"] != 41234.0 {
		t.Errorf("register row %v: want limit B as the dashboard's, ratio 0.3 (6000/20000), p99_half 3, register_rows 41234", reg)
	}
	if spending["limit"] != dash["limit"] || spending["ratio"] != 0.05 || spending["p99_ms"] != 12.0 || spending["p99_half_ms"] != 8.0 ||
		spending["report_rows"] != 17890.0 {
		t.Errorf("report row %v: want limit B as the dashboard's, ratio 0.05 (1000/20000), p99 12, p99_half 8, report_rows 17890", spending)
	}
	if _, ok := reg["report_rows"]; ok {
		t.Errorf("register row %v has report_rows", reg)
	}
	times, _ := got["server_times"].([]any)
	if len(times) != 9 {
		t.Fatalf("server_times %v, want the register, three filters of /transactions, the dashboard, the budget and three reports", times)
	}
	if tr := times[4].(map[string]any); tr["page"] != "dashboard" || tr["p95_ms"] != 5.0 || tr["samples"] != 100.0 || tr["target_p95_ms"] != 5.0 {
		t.Errorf("dashboard's server time %v: want p95 5 ms over 100 answers, target 5 ms", tr)
	}
	for i, want := range map[int]string{5: "/budget?month=2026-12", 6: "/reports/spending", 7: "/reports/cashflow", 8: "/reports/networth"} {
		wantTarget := 10.0
		if i == 5 {
			wantTarget = 5.0
		}
		if tr := times[i].(map[string]any); tr["path"] != want || tr["target_p95_ms"] != wantTarget {
			t.Errorf("server time %d %v: want %s with a target of %g ms", i, tr, want, wantTarget)
		}
	}
	l := got["ledger"].(map[string]any)
	if l["account_rows"] != 41234.0 || l["rows"] != 52345.0 || l["transactions_asked"] != 50000.0 ||
		l["report_from"] != "2026-01" || l["report_rows"] != 17890.0 || l["budget_month"] != "2026-12" || l["budgeted"] != 2.0 {
		t.Errorf("ledger %v", l)
	}
}

// TestReportLedgerTargets: the register is held to 25% of limit B and 10 ms at half its peak,
// each page's server time to 5 ms at p95 and each 12-month report's to 10 ms; a smaller ledger
// than the is said so.
func TestReportLedgerTargets(t *testing.T) {
	r := fakeResults()
	r.ledger.asked, r.ledger.accountRows = 5000, 4123
	nw := r.serverTimes[8].st // the net worth report: at its bound, which it must stay under
	for i := range nw.server {
		nw.server[i] = 10 * time.Millisecond
	}
	rep := buildReport(r)
	pass := map[string]string{}
	for _, tg := range rep.Targets {
		pass[tg.Name] = fmt.Sprintf("%t %s", tg.Pass, tg.Value)
	}
	for name, want := range map[string]string{
		"register >= 25% of limit B":                                "true 30% (a register of 4,123 rows)",
		"register p99 < 10 ms at half its peak":                     "true 3.00 ms at 3000 req/s",
		"server time p95 < 5 ms: register":                          "true 1.00 ms (p50 1.00 ms, 100 answers)",
		"server time p95 < 5 ms: transactions by text":              "true 2.00 ms (p50 2.00 ms, 100 answers)",
		"server time p95 < 5 ms: transactions by category":          "true 3.00 ms (p50 3.00 ms, 100 answers)",
		"server time p95 < 5 ms: transactions by account and dates": "true 4.00 ms (p50 4.00 ms, 100 answers)",
		"server time p95 < 5 ms: dashboard":                         "false 5.00 ms (p50 5.00 ms, 100 answers)",
		"server time p95 < 5 ms: budget":                            "false 6.00 ms (p50 6.00 ms, 100 answers)",
		"server time p95 < 10 ms: spending report":                  "true 7.00 ms (p50 7.00 ms, 100 answers)",
		"server time p95 < 10 ms: cash flow report":                 "true 8.00 ms (p50 8.00 ms, 100 answers)",
		"server time p95 < 10 ms: net worth report":                 "false 10.00 ms (p50 10.00 ms, 100 answers)",
	} {
		if pass[name] != want {
			t.Errorf("target %q: %q, want %q", name, pass[name], want)
		}
	}
	var out strings.Builder
	rep.print(&out)
	for _, line := range []string{
		`register: 0.30 of limit B (floor, 19981.0/s), p99 3.00 ms at half its peak; the first 50 of the 4,123 rows of "Checking" (bench0500's ledger: 52,345 rows from tally demo --transactions 5000; fewer than a full run's 50,000, as -quick or -ledger-rows asked)`,
		"report: 0.05 of limit B (floor, 19981.0/s), p99 8.00 ms at half its peak; /reports/spending from 2026-01 to 2026-12, 17,890 rows of the ledger",
		"server time (Server-Timing app;dur) at 100 req/s:",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("printed report has no line %q:\n%s", line, out.String())
		}
	}
}

// TestAttackRunsOut: a targeter that runs out of prepared requests ends the run early; what
// it could not send is not an error.
func TestAttackRunsOut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var next atomic.Int64
	tr := func(tgt *vegeta.Target) error {
		if next.Add(1) > 5 {
			return vegeta.ErrNoTargets
		}
		tgt.Method, tgt.URL = http.MethodGet, srv.URL
		return nil
	}
	a, p := maxRate(2)
	start := time.Now()
	st := attack(t.Context(), a, p, tr, 10*time.Second, newStats("out", 0), os.Getpid(), is(200))
	if st.ok != 5 || st.errs != 0 || !st.ranOut || time.Since(start) > 5*time.Second {
		t.Errorf("%d answers, %d errors, ran out %t, after %s; want 5, none, true, at once", st.ok, st.errs, st.ranOut, time.Since(start))
	}
}

func TestServerTime(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   time.Duration
		ok     bool
	}{
		{[]string{"app;dur=1.23"}, 1230 * time.Microsecond, true},
		{[]string{"db;dur=0.5, app;desc=\"all\";dur=12"}, 12 * time.Millisecond, true},
		{[]string{"cache;desc=hit", "app;dur=0.07"}, 70 * time.Microsecond, true},
		{[]string{"db;dur=0.5"}, 0, false},
		{[]string{"app;dur=fast"}, 0, false},
		{nil, 0, false},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("Server-Timing", v)
		}
		got, ok := serverTime(h)
		if ok != tc.ok || (ok && (got-tc.want).Abs() > time.Microsecond) {
			t.Errorf("%q: %s %t, want %s %t", tc.values, got, ok, tc.want, tc.ok)
		}
	}
}

// TestReportLoginTargets: login is held to 95% of the HTTP hash limit and 90% of limit A, each
// on its own, and the printed report gives the HTTP hash limit and login's ratio to it.
func TestReportLoginTargets(t *testing.T) {
	for _, tc := range []struct {
		name            string
		login, httpHash int // answers in one second
		passHTTP, passA bool
		line            string
	}{
		{"both met", 43, 45, true, true, "login: 0.96 of the HTTP hash limit (http hash, 45.0/s), 0.96 of limit A (hash, 45.0/s)"},
		{"at 95% of the HTTP hash limit", 38, 40, true, false, "login: 0.95 of the HTTP hash limit (http hash, 40.0/s), 0.84 of limit A (hash, 45.0/s)"},
		{"under 95% of the HTTP hash limit", 37, 40, false, false, "login: 0.93 of the HTTP hash limit (http hash, 40.0/s), 0.82 of limit A (hash, 45.0/s)"},
		{"limit A met, HTTP hash limit missed", 41, 45, false, true, "login: 0.91 of the HTTP hash limit (http hash, 45.0/s), 0.91 of limit A (hash, 45.0/s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fakeResults()
			r.loginRuns = []*runStats{perSecond("login 1", tc.login, 60*time.Millisecond, 303)}
			r.httpHashRuns = []*runStats{perSecond("http hash 1", tc.httpHash, 50*time.Millisecond, 303),
				perSecond("http hash 2", tc.httpHash, 50*time.Millisecond, 303)}
			r.login, r.httpHash = merge("login", r.loginRuns), merge("http hash", r.httpHashRuns)
			rep := buildReport(r)
			pass := map[string]bool{}
			for _, tg := range rep.Targets {
				pass[tg.Name] = tg.Pass
			}
			if got, ok := pass["login >= 95% of the HTTP hash limit"]; !ok || got != tc.passHTTP {
				t.Errorf("HTTP hash target present %t, pass %t; want pass %t (targets %v)", ok, got, tc.passHTTP, rep.Targets)
			}
			if got, ok := pass["login >= 90% of limit A"]; !ok || got != tc.passA {
				t.Errorf("limit A target present %t, pass %t; want pass %t", ok, got, tc.passA)
			}
			var out strings.Builder
			rep.print(&out)
			if !strings.Contains(out.String(), tc.line) {
				t.Errorf("printed report has no line %q:\n%s", tc.line, out.String())
			}
			if !slices.ContainsFunc(rep.Notes, func(n string) bool {
				return strings.HasPrefix(n, fmt.Sprintf("round 1: login %d.0/s", tc.login)) &&
					strings.Contains(n, fmt.Sprintf("of http hash %d.0/s and %d.0/s", tc.httpHash, tc.httpHash))
			}) {
				t.Errorf("no note for round 1 with login and both http hash segments: %q", rep.Notes)
			}
		})
	}
}

// merge adds segments' answers and times: the merged rate is total answers over total time,
// not the rate of the first or of the span from the first start to the last end.
func TestMergeSegments(t *testing.T) {
	a := fakeRun("a", 0, 50, 10*time.Millisecond, 200, true)
	b := fakeRun("b", 0, 100, 10*time.Millisecond, 200, true)
	b.start, b.end = b.start.Add(time.Hour), b.end.Add(time.Hour) // an hour later
	b.cpu.server, a.cpu.server = 1.5, 0.5
	m := merge("m", []*runStats{a, b})
	want := 150 / (a.end.Sub(a.start) + b.end.Sub(b.start)).Seconds()
	if got := m.rps(); math.Abs(got-want) > 1e-9 {
		t.Errorf("merged rps %.3f, want %.3f", got, want)
	}
	if m.ok != 150 || m.codes[200] != 150 || len(m.lat) != 150 {
		t.Errorf("merged ok %d, codes %v, latencies %d; want 150 each", m.ok, m.codes, len(m.lat))
	}
	if m.cpu.server <= 0.5 || m.cpu.server >= 1.5 {
		t.Errorf("merged server CPU %.2f, want a time-weighted mean between 0.5 and 1.5", m.cpu.server)
	}
}

// TestSamplerCatchesShortPeak: a peak that comes and goes between two polls still counts, read
// from VmHWM after the sampler reset it. The first sampler's run holds 64 MiB for an instant;
// the second, after the memory went back to the OS, must not report it again.
func TestSamplerCatchesShortPeak(t *testing.T) {
	pid := os.Getpid()
	r := sampleRSS(pid)
	if !r.hwmReset {
		r.stop()
		t.Skip("this kernel refuses to reset VmHWM (clear_refs 5); the sampler falls back to polling")
	}
	before := currentRSSMiB(pid)
	touch(64 << 20)
	debug.FreeOSMemory()
	peak, _, _ := r.stop()
	if peak < before+60 {
		t.Fatalf("peak %.1f MiB, RSS before %.1f MiB: the 64 MiB held between polls was missed", peak, before)
	}
	r = sampleRSS(pid)
	after, _, _ := r.stop()
	if after > before+32 {
		t.Fatalf("second peak %.1f MiB: VmHWM was not reset (RSS before %.1f MiB)", after, before)
	}
}

// touch allocates n bytes and writes every page, so they are resident.
func touch(n int) {
	b := make([]byte, n)
	for i := 0; i < n; i += 4096 {
		b[i] = 1
	}
	runtime.KeepAlive(b)
}

// TestMachineTicks reads /proc/stat's cpu line: steal is busy time this machine did not get.
func TestMachineTicks(t *testing.T) {
	for _, tc := range []struct {
		line               string
		busy, steal, total int64
	}{
		{"cpu  100 5 50 800 20 3 2 40 0 0", 200, 40, 1020},
		{"cpu  100 5 50 800 20 3 2 0 7 0", 160, 0, 980}, // guest time is inside user already
		{"cpu  100 5 50 800 20 3 2", 160, 0, 980},       // an old kernel without steal
		{"cpu  1 2 3", 6, 0, 6},                         // truncated
		{"", 0, 0, 0},
	} {
		busy, steal, total := machineTicks(tc.line)
		if busy != tc.busy || steal != tc.steal || total != tc.total {
			t.Errorf("%q: busy %d steal %d total %d, want %d %d %d", tc.line, busy, steal, total, tc.busy, tc.steal, tc.total)
		}
	}
}

// TestReportWarnsOfSteal: a scenario during which the VM's host took CPU is named in a warning,
// with how much; a run without steal has no warning.
func TestReportWarnsOfSteal(t *testing.T) {
	warnings := func(r *results) []string {
		var w []string
		for _, n := range buildReport(r).Notes {
			if strings.HasPrefix(n, "warning:") {
				w = append(w, n)
			}
		}
		return w
	}
	r := fakeResults()
	r.dashHalf.cpu.steal = stealWarning // at the threshold: not yet
	if w := warnings(r); len(w) != 0 {
		t.Errorf("no steal over the threshold, warnings %q", w)
	}
	r.floor.cpu.steal, r.hashRuns[1].cpu.steal, r.httpHashRuns[0].cpu.steal = 0.51, 0.3, 0.2
	w := warnings(r)
	if len(w) != 1 || !strings.Contains(w[0], "floor 0.51") || !strings.Contains(w[0], "during hash 2 0.30") ||
		!strings.Contains(w[0], "http hash 1 0.20") || strings.Contains(w[0], "dashboard half") {
		t.Errorf("warnings %q, want one naming floor 0.51, hash segment 2 0.30 and http hash segment 1 0.20", w)
	}
}

// TestReportWarnsOfOtherLoad: a segment or scenario during which other processes used CPU is
// named in a warning of its own, with how much.
func TestReportWarnsOfOtherLoad(t *testing.T) {
	r := fakeResults()
	r.dashboard.cpu.other = otherWarning // at the threshold: not yet
	r.loginRuns[0].cpu.other, r.httpHashRuns[1].cpu.other = 1.23, 0.5
	r.floor.cpu.steal = 0.51
	var other, steal []string
	for _, n := range buildReport(r).Notes {
		switch {
		case strings.HasPrefix(n, "warning: other processes"):
			other = append(other, n)
		case strings.HasPrefix(n, "warning: the VM's host"):
			steal = append(steal, n)
		}
	}
	if len(other) != 1 || !strings.Contains(other[0], "during http hash 2 0.50, login 1 1.23;") {
		t.Errorf("other-load warnings %q, want one naming http hash segment 2 0.50 and login segment 1 1.23 only", other)
	}
	if len(steal) != 1 || !strings.Contains(steal[0], "during floor 0.51;") {
		t.Errorf("steal warnings %q, want one naming floor 0.51 only", steal)
	}
}

// TestReportFloodHalves: the flood's note gives the peak RSS of each half, or says it was not
// measured.
func TestReportFloodHalves(t *testing.T) {
	for _, tc := range []struct {
		halves [2]float64
		want   string
	}{
		{[2]float64{130, 131.5}, "(first half 130.0 MiB, second half 131.5 MiB)"},
		{[2]float64{}, "(first half not measured, second half not measured)"},
	} {
		r := fakeResults()
		r.floodHalves = tc.halves
		if notes := buildReport(r).Notes; !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, tc.want) }) {
			t.Errorf("halves %v: no note with %q in %q", tc.halves, tc.want, notes)
		}
	}
}

// splitPeak reads the peak since the last reset and starts a new one: a peak of the first half
// is not reported again for the second.
func TestSplitPeak(t *testing.T) {
	pid := os.Getpid()
	if splitPeak(pid) == 0 {
		t.Skip("this kernel refuses to reset VmHWM (clear_refs 5)")
	}
	before := currentRSSMiB(pid)
	touch(64 << 20)
	debug.FreeOSMemory()
	if first := splitPeak(pid); first < before+60 {
		t.Fatalf("first half's peak %.1f MiB, RSS before %.1f MiB: the 64 MiB was missed", first, before)
	}
	if second := splitPeak(pid); second > before+32 {
		t.Fatalf("second half's peak %.1f MiB: the first half's peak was not reset (RSS before %.1f MiB)", second, before)
	}
}

// TestQuickRun is the CI smoke of the benchmark: go run ./bench -quick -json FILE, the way the
// README runs it, end to end (build, seed, every scenario, restarts), on SQLite and, when
// TALLY_TEST_POSTGRES_URL names a cluster, with -database on Postgres (under CI=true it must).
// It checks that every scenario ran and that nothing failed; the targets are measurements of
// the machine, not checked here.
func TestQuickRun(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { quickRun(t, "SQLite") })
	t.Run("Postgres", func(t *testing.T) {
		url := os.Getenv(testdb.EnvURL)
		switch {
		case url == "" && os.Getenv("CI") == "true":
			t.Fatalf("%s is not set: CI runs the benchmark on Postgres too", testdb.EnvURL)
		case url == "":
			t.Skipf("the Postgres run was skipped: set %s to a cluster the benchmark may create a database in", testdb.EnvURL)
		}
		quickRun(t, "PostgreSQL", "-database", url)
	})
}

// quickRun runs the quick benchmark with args and checks its report, made on database.
func quickRun(t *testing.T, database string, args ...string) {
	out := filepath.Join(t.TempDir(), "bench.json")
	cmd := exec.Command("go", append([]string{"run", ".", "-quick", "-json", out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./bench -quick: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rep.Database, database+" ") {
		t.Errorf("the report measured %q, want %s", rep.Database, database)
	}
	var names []string
	for _, s := range rep.Scenarios {
		names = append(names, s.Name)
		if s.RPS <= 0 || s.Errors != 0 {
			t.Errorf("%s: %.1f req/s, %d errors", s.Name, s.RPS, s.Errors)
		}
	}
	if want := []string{"hash", "http hash", "login", "floor", "dashboard", "flood", "register", "report"}; !slices.Equal(names, want) {
		t.Fatalf("scenarios %v, want %v", names, want)
	}
	if reg := rep.Scenarios[6]; reg.P99HalfMs <= 0 || reg.RegisterRows <= 0 || rep.Ledger.Rows < reg.RegisterRows {
		t.Errorf("register: p99 at half peak %.2f ms, %d rows in the register, %d in the ledger", reg.P99HalfMs, reg.RegisterRows, rep.Ledger.Rows)
	}
	if spending := rep.Scenarios[7]; spending.P99HalfMs <= 0 || spending.Ratio <= 0 || spending.ReportRows <= 0 || rep.Ledger.Rows < spending.ReportRows {
		t.Errorf("report: p99 at half peak %.2f ms, ratio %.2f, %d rows in its 12 months, %d in the ledger", spending.P99HalfMs, spending.Ratio, spending.ReportRows, rep.Ledger.Rows)
	}
	if rep.Ledger.Budgeted == 0 {
		t.Errorf("the budget of %s has no amounts", rep.Ledger.BudgetMonth)
	}
	if len(rep.ServerTimes) != 9 {
		t.Errorf("server times of %d pages, want 9", len(rep.ServerTimes))
	}
	for _, st := range rep.ServerTimes {
		if st.Samples == 0 || st.P95Ms <= 0 || st.Errors != 0 {
			t.Errorf("server time of %s: %d answers, p95 %.2f ms, %d errors", st.Page, st.Samples, st.P95Ms, st.Errors)
		}
	}
	if login := rep.Scenarios[2]; len(login.LoginCodes) != 1 || login.LoginCodes["303"] == 0 || login.RatioHTTPHash <= 0 {
		t.Errorf("login answers %v, ratio to the HTTP hash limit %.2f; want only 303 and a ratio", login.LoginCodes, login.RatioHTTPHash)
	}
	if im := rep.Import; im == nil || im.Rows != importRowsQuick || im.UploadS <= 0 || im.CommitS <= 0 || im.UploadRSSMiB <= 0 || im.Written != im.Rows {
		t.Errorf("import: %+v; want %d rows uploaded, committed and written, timed, with the server's RSS", im, importRowsQuick)
	}
	if rep.BinaryMiB <= 0 || rep.StartMs <= 0 || len(rep.Targets) == 0 {
		t.Errorf("binary %.1f MiB, start %.1f ms, %d targets", rep.BinaryMiB, rep.StartMs, len(rep.Targets))
	}
}

// TestImportCSV checks the import's CSV: the 50,000 rows in about 4 MB, under the
// importer's limits, every row read with no mapping given, money both ways.
func TestImportCSV(t *testing.T) {
	csv := importCSV(importRows, time.Date(2026, 12, 6, 15, 0, 0, 0, time.Local))
	if len(csv) < 3_500_000 || len(csv) > importer.MaxBytes {
		t.Fatalf("%d bytes, want about 4 MB and at most %d", len(csv), importer.MaxBytes)
	}
	usd, _ := money.Lookup("USD")
	res, err := importer.Parse(bytes.NewReader(csv), "bank-export.csv", usd, importer.Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != importRows || len(res.Ambiguous) > 0 {
		t.Fatalf("%d rows, ambiguous %v; want %d rows", len(res.Rows), res.Ambiguous, importRows)
	}
	var in, out int
	for _, r := range res.Rows {
		if r.Err != "" {
			t.Fatalf("line %d: %s", r.Line, r.Err)
		}
		if r.Amount > 0 {
			in++
		} else {
			out++
		}
	}
	if first, last := res.Rows[0].Date, res.Rows[len(res.Rows)-1].Date; first != "2023-12-05" || last != "2026-12-05" || in == 0 || out < in {
		t.Errorf("dates %s to %s, %d in and %d out", first, last, in, out)
	}
}

// TestReportImport: the import's two steps are held to 3 s each and the server's RSS to
// 150 MiB over both; the table shows both steps, and a smaller CSV than the is said so.
func TestReportImport(t *testing.T) {
	r := fakeResults()
	upload := fakeRun("import upload", 0, 1, 1200*time.Millisecond, 201, true)
	upload.rssMiB = 91.5
	commit := fakeRun("import commit", 0, 1, 3100*time.Millisecond, 200, true)
	commit.rssMiB = 88
	r.imports = &importRun{rows: importRowsQuick, bytes: 415_000, account: importAccount, upload: upload, commit: commit,
		counts: map[string]int{"new": 5000, "duplicate": 0}, written: 5000}
	rep := buildReport(r)
	if im := rep.Import; im == nil || im.UploadS != 1.2 || im.CommitS != 3.1 || im.UploadRSSMiB != 91.5 || im.Written != 5000 {
		t.Fatalf("import %+v", rep.Import)
	}
	verdicts := map[string]bool{}
	for _, tg := range rep.Targets {
		verdicts[tg.Name] = tg.Pass
	}
	for name, want := range map[string]bool{"import: upload to preview < 3 s": true, "import: confirm to committed < 3 s": false,
		"import: server RSS < 150 MiB": true} {
		if got, ok := verdicts[name]; !ok || got != want {
			t.Errorf("target %q: present %t, pass %t; want pass %t", name, ok, got, want)
		}
	}
	var out strings.Builder
	rep.print(&out)
	for _, want := range []string{"import: a 5,000-row CSV (0.4 MB; fewer than a full run's 50,000, as -quick or -import-rows asked)",
		"upload to preview     1.20", "confirm to committed     3.10", "preview counts duplicate 0, new 5000"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
