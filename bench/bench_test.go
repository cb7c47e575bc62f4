package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
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

// fakeResults is a whole run's measurements, without running any load.
func fakeResults() *results {
	r := &results{
		machine: machineInfo(), dur: 3 * time.Second, binaryBytes: 18 << 20, workers: 32,
		hashRuns:   []*runStats{fakeRun("hash", 0, 45, 40*time.Millisecond, 200, true), fakeRun("hash", 0, 45, 40*time.Millisecond, 200, true)},
		loginRuns:  []*runStats{fakeRun("login 1", 0, 44, 60*time.Millisecond, 303, true)},
		floor:      fakeRun("floor", 0, 20000, time.Millisecond, 200, true),
		dashboard:  fakeRun("dashboard", 0, 4000, 5*time.Millisecond, 200, true),
		dashHalf:   fakeRun("dashboard half", 2000, 2000, 2*time.Millisecond, 200, true),
		flood:      fakeRun("flood", 2000, 2000, 3*time.Millisecond, 200, true),
		floodLogin: fakeRun("flood logins", 180, 180, time.Millisecond, 503, true),
		starts:     []time.Duration{20 * time.Millisecond, 30 * time.Millisecond, 25 * time.Millisecond},
	}
	r.hash, r.login = merge("hash", r.hashRuns), merge("login", r.loginRuns)
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
	for _, k := range []string{"scenarios", "binary_mib", "start_ms"} {
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
		if _, ok := s["p99_half_ms"]; ok != (s["name"] == "dashboard") {
			t.Errorf("scenario %v: p99_half_ms present %t; want it on dashboard only", s["name"], ok)
		}
	}
	if want := []string{"hash", "login", "floor", "dashboard", "flood"}; !slices.Equal(names, want) {
		t.Errorf("scenario names %v, want %v", names, want)
	}
	dash := rows[3].(map[string]any)
	if dash["ratio"] != 0.2 || dash["p99_ms"] != 5.0 || dash["p99_half_ms"] != 2.0 {
		t.Errorf("dashboard row %v: want ratio 0.2 (4000/20000), p99 5, p99_half 2", dash)
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
	r.floor.cpu.steal, r.hashRuns[1].cpu.steal = 0.51, 0.3
	w := warnings(r)
	if len(w) != 1 || !strings.Contains(w[0], "floor 0.51") || !strings.Contains(w[0], "hash 2 0.30") ||
		strings.Contains(w[0], "dashboard half") {
		t.Errorf("warnings %q, want one naming floor 0.51 and hash segment 2 0.30", w)
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
// README runs it, end to end (build, seed, every scenario, restarts). It checks that every
// scenario ran and that nothing failed; the targets are measurements of the machine, not
// checked here.
func TestQuickRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	cmd := exec.Command("go", "run", ".", "-quick", "-json", out)
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
	var names []string
	for _, s := range rep.Scenarios {
		names = append(names, s.Name)
		if s.RPS <= 0 || s.Errors != 0 {
			t.Errorf("%s: %.1f req/s, %d errors", s.Name, s.RPS, s.Errors)
		}
	}
	if want := []string{"hash", "login", "floor", "dashboard", "flood"}; !slices.Equal(names, want) {
		t.Fatalf("scenarios %v, want %v", names, want)
	}
	if login := rep.Scenarios[1]; len(login.LoginCodes) != 1 || login.LoginCodes["303"] == 0 {
		t.Errorf("login answers %v, want only 303", login.LoginCodes)
	}
	if rep.BinaryMiB <= 0 || rep.StartMs <= 0 || len(rep.Targets) == 0 {
		t.Errorf("binary %.1f MiB, start %.1f ms, %d targets", rep.BinaryMiB, rep.StartMs, len(rep.Targets))
	}
}
