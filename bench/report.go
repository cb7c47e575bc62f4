package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// results is everything measured, in the order of the run.
type results struct {
	machine      machine
	database     string // "SQLite 3.53.0", "PostgreSQL 15.14"
	dur          time.Duration
	binaryBytes  int64
	hashRuns     []*runStats // limit A's segments, alternating with httpHashRuns and loginRuns
	httpHashRuns []*runStats // the HTTP hash limit's segments
	loginRuns    []*runStats
	hash         *runStats // hashRuns merged
	httpHash     *runStats // httpHashRuns merged
	login        *runStats // loginRuns merged
	floor        *runStats
	dashboard    *runStats // max rate
	dashHalf     *runStats // half of dashboard's rate
	flood        *runStats // page views during the flood
	floodLogin   *runStats // the flood itself
	// Server RSS right before and right after the flood, for memory growth.
	dashRSSBefore, floodRSSAfter float64
	// The server's peak RSS in the first and in the second half of the flood, in MiB; zero
	// where the kernel refuses to reset the peak (clear_refs).
	floodHalves  [2]float64
	ledger       *ledgerSeed
	register     *runStats // max rate, on a server started after the flood
	registerHalf *runStats // half of register's rate
	report       *runStats // max rate, on the register's server
	reportHalf   *runStats // half of report's rate
	serverTimes  []pageTimes
	imports      *importRun // on a server of its own, after the server times
	starts       []time.Duration
	workers      int
}

type machine struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	NProc      string `json:"nproc"`
	CPU        string `json:"cpu"`
	Go         string `json:"go"`
	Date       string `json:"date"`
}

// scenario is one row of the table; its JSON names are the issue's.
type scenario struct {
	Name      string  `json:"name"`
	RPS       float64 `json:"rps"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	Limit     float64 `json:"limit"`
	Ratio     float64 `json:"ratio"`
	RSSMiB    float64 `json:"rss_mib"`
	Errors    int     `json:"errors"`
	P99HalfMs float64 `json:"p99_half_ms,omitempty"` // dashboard, register and report: p99 at half the peak rate
	// register: the rows of the account whose register is read.
	RegisterRows int `json:"register_rows,omitempty"`
	// report: the ledger's rows dated in the report's 12 months.
	ReportRows int `json:"report_rows,omitempty"`
	// login: its ratio to the HTTP hash limit (its limit and ratio are limit A's).
	RatioHTTPHash float64 `json:"ratio_http_hash,omitempty"`
	// login and flood: status counts of the login POSTs ("0" = no HTTP answer).
	LoginCodes map[string]int `json:"login_codes,omitempty"`
}

type target struct {
	Name  string `json:"name"`
	Pass  bool   `json:"pass"`
	Value string `json:"value"`
}

// serverTimeRow is a page's server time, from the Server-Timing of its answers.
type serverTimeRow struct {
	Page    string  `json:"page"`
	Path    string  `json:"path"`
	Target  float64 `json:"target_p95_ms"`
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50_ms"`
	P95Ms   float64 `json:"p95_ms"`
	Errors  int     `json:"errors"`
}

// ledgerInfo is the ledger of the register and report scenarios and the server times.
type ledgerInfo struct {
	User        string  `json:"user"`
	Asked       int     `json:"transactions_asked"` // tally demo --transactions
	Rows        int     `json:"rows"`               // split parts and both legs of transfers included
	Account     string  `json:"account"`
	AccountRows int     `json:"account_rows"`
	Payee       string  `json:"payee"`    // the commonest, for /transactions?q=
	Category    string  `json:"category"` // the commonest, for /transactions?category_id=
	SeedSeconds float64 `json:"seed_seconds"`
	ReportFrom  string  `json:"report_from"`  // the first of the reports' 12 months; the last is BudgetMonth
	ReportRows  int     `json:"report_rows"`  // rows dated in them
	BudgetMonth string  `json:"budget_month"` // the budget page's month, this one
	Budgeted    int     `json:"budgeted"`     // its categories given an amount by the bench
}

// importInfo is the import measurement: a bank CSV uploaded to its preview, then committed.
type importInfo struct {
	Rows         int            `json:"rows"`
	Bytes        int            `json:"bytes"`
	Account      string         `json:"account"`
	UploadS      float64        `json:"upload_to_preview_s"`
	CommitS      float64        `json:"confirm_to_committed_s"`
	UploadRSSMiB float64        `json:"upload_rss_mib"` // the server's peak during the upload
	CommitRSSMiB float64        `json:"commit_rss_mib"` // and during the commit
	Counts       map[string]int `json:"counts"`         // the preview's
	Written      int            `json:"written"`
	Skipped      int            `json:"skipped"`
	Duplicates   int            `json:"duplicates"`
}

type report struct {
	Scenarios   []scenario      `json:"scenarios"`
	Import      *importInfo     `json:"import,omitempty"`
	Ledger      ledgerInfo      `json:"ledger"`
	ServerTimes []serverTimeRow `json:"server_times"`
	Database    string          `json:"database"` // "SQLite 3.53.0", "PostgreSQL 15.14"
	BinaryMiB   float64         `json:"binary_mib"`
	StartMs     float64         `json:"start_ms"`
	Machine     machine         `json:"machine"`
	ScenarioS   float64         `json:"scenario_seconds"`
	Targets     []target        `json:"targets"`
	Notes       []string        `json:"notes"`
}

func machineInfo() machine {
	m := machine{GOMAXPROCS: runtime.GOMAXPROCS(0), NProc: strconv.Itoa(runtime.NumCPU()),
		Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, CPU: "unknown",
		Date: time.Now().Format(time.RFC3339)}
	if out, err := exec.Command("nproc").Output(); err == nil {
		m.NProc = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

func perOp(n int64, ops int) int64 {
	if ops == 0 {
		return 0
	}
	return n / int64(ops)
}

func ms(d time.Duration) float64 { return round(float64(d) / 1e6) }
func round(x float64) float64    { return math.Round(x*100) / 100 }

// mib formats a measured size, or says it was not measured (zero).
func mib(x float64) string {
	if x == 0 {
		return "not measured"
	}
	return fmt.Sprintf("%.1f MiB", x)
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// fewerRows says when the ledger is smaller than the real size (-quick, -ledger-rows).
func fewerRows(asked int) string {
	if asked >= ledgerRows {
		return ""
	}
	return fmt.Sprintf("; fewer than a full run's %s, as -quick or -ledger-rows asked", thousands(ledgerRows))
}

// fewerImportRows says when the import's CSV is smaller than the (-quick, -import-rows).
func fewerImportRows(rows int) string {
	if rows >= importRows {
		return ""
	}
	return fmt.Sprintf("; fewer than a full run's %s, as -quick or -import-rows asked", thousands(importRows))
}

// countText is counts in a stable order: "new 5000, duplicate 0".
func countText(counts map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return round(a / b)
}

func row(s *runStats, limit float64) scenario {
	return scenario{Name: s.name, RPS: round(s.rps()), P50Ms: ms(s.pct(0.5)), P99Ms: ms(s.pct(0.99)),
		Limit: round(limit), Ratio: ratio(s.rps(), limit), RSSMiB: round(s.rssMiB), Errors: s.errs}
}

func codeCounts(s *runStats) map[string]int {
	out := map[string]int{}
	for c, n := range s.codes {
		out[strconv.Itoa(c)] = n
	}
	return out
}

func codeText(s *runStats) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(s.codes)) {
		parts = append(parts, fmt.Sprintf("%d x%d", c, s.codes[c]))
	}
	for e, n := range s.errText {
		parts = append(parts, fmt.Sprintf("%q x%d", e, n))
	}
	return strings.Join(parts, ", ")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	return s[len(s)/2]
}

// stealWarning is the steal, in cores, above which a segment or scenario is named in a warning:
// past it, p99s and limits measurably moved (docs/performance.md).
const stealWarning = 0.1

// otherWarning is the CPU, in cores, that other processes on the machine may use during a
// segment or scenario before it is named in a warning: the benchmark's processes want every
// core, so others' compiles and tests take their share from the measurement.
const otherWarning = 0.1

// segmentsOver names every hash, http hash or login segment and every other scenario whose
// share of the CPU (as picked) exceeds limit, and how much.
func segmentsOver(r *results, share func(cpuUse) float64, limit float64) []string {
	var out []string
	add := func(name string, s *runStats) {
		if v := share(s.cpu); v > limit {
			out = append(out, fmt.Sprintf("%s %.2f", name, v))
		}
	}
	for i, s := range r.hashRuns {
		add(fmt.Sprintf("hash %d", i+1), s)
	}
	for i, s := range r.httpHashRuns {
		add(fmt.Sprintf("http hash %d", i+1), s)
	}
	for i, s := range r.loginRuns {
		add(fmt.Sprintf("login %d", i+1), s)
	}
	for _, s := range []*runStats{r.floor, r.dashboard, r.dashHalf, r.flood, r.register, r.registerHalf, r.report, r.reportHalf} {
		add(s.name, s)
	}
	for _, p := range r.serverTimes {
		add(p.st.name, p.st)
	}
	if r.imports != nil {
		add(r.imports.upload.name, r.imports.upload)
		add(r.imports.commit.name, r.imports.commit)
	}
	return out
}

// buildReport turns the measurements into the table's rows, the targets and the notes.
func buildReport(r *results) *report {
	limitA, limitHTTP, limitB := r.hash.rps(), r.httpHash.rps(), r.floor.rps()
	rep := &report{Machine: r.machine, ScenarioS: r.dur.Seconds(), Database: r.database,
		BinaryMiB: round(float64(r.binaryBytes) / (1 << 20)), StartMs: ms(median(r.starts))}
	hash, httpHash, login := row(r.hash, limitA), row(r.httpHash, limitA), row(r.login, limitA)
	floor, dash, flood := row(r.floor, limitB), row(r.dashboard, limitB), row(r.flood, r.flood.offered)
	hash.Name, httpHash.Name, login.Name, flood.Name = "hash", "http hash", "login", "flood"
	login.RatioHTTPHash = ratio(r.login.rps(), limitHTTP)
	login.LoginCodes, flood.LoginCodes = codeCounts(r.login), codeCounts(r.floodLogin)
	dash.P99HalfMs = ms(r.dashHalf.pct(0.99))
	reg := row(r.register, limitB)
	reg.P99HalfMs, reg.RegisterRows = ms(r.registerHalf.pct(0.99)), r.ledger.accountRows
	l := r.ledger
	spending := row(r.report, limitB)
	spending.P99HalfMs, spending.ReportRows = ms(r.reportHalf.pct(0.99)), l.reportRows
	rep.Scenarios = []scenario{hash, httpHash, login, floor, dash, flood, reg, spending}
	rep.Ledger = ledgerInfo{User: benchUser(l.index), Asked: l.asked, Rows: l.userRows, Account: l.account,
		AccountRows: l.accountRows, Payee: l.payee, Category: l.category, SeedSeconds: round(l.took.Seconds()),
		ReportFrom: l.reportFrom, ReportRows: l.reportRows, BudgetMonth: l.month, Budgeted: l.budgeted}
	for _, p := range r.serverTimes {
		rep.ServerTimes = append(rep.ServerTimes, serverTimeRow{Page: p.page.name, Path: p.page.path, Target: p.page.targetMs, Samples: len(p.st.server),
			P50Ms: ms(p.st.serverPct(0.5)), P95Ms: ms(p.st.serverPct(0.95)), Errors: p.st.errs})
	}

	if im := r.imports; im != nil {
		rep.Import = &importInfo{Rows: im.rows, Bytes: im.bytes, Account: im.account,
			UploadS: round(im.upload.pct(1).Seconds()), CommitS: round(im.commit.pct(1).Seconds()),
			UploadRSSMiB: round(im.upload.rssMiB), CommitRSSMiB: round(im.commit.rssMiB),
			Counts: im.counts, Written: im.written, Skipped: im.skipped, Duplicates: im.duplicates}
	}

	add := func(name string, pass bool, format string, args ...any) {
		rep.Targets = append(rep.Targets, target{Name: name, Pass: pass, Value: fmt.Sprintf(format, args...)})
	}
	add("login >= 95% of the HTTP hash limit", login.RatioHTTPHash >= 0.95, "%.0f%% (%.1f of %.1f/s)",
		100*login.RatioHTTPHash, login.RPS, httpHash.RPS)
	add("login >= 90% of limit A", login.Ratio >= 0.9, "%.0f%%", 100*login.Ratio)
	add("dashboard >= 20% of limit B", dash.Ratio >= 0.2, "%.0f%%", 100*dash.Ratio)
	add("dashboard p99 < 10 ms at half its peak", dash.P99HalfMs < 10, "%.2f ms at %.0f req/s", dash.P99HalfMs, r.dashHalf.offered)
	add("register >= 25% of limit B", reg.Ratio >= 0.25, "%.0f%% (a register of %s rows)", 100*reg.Ratio, thousands(l.accountRows))
	add("register p99 < 10 ms at half its peak", reg.P99HalfMs < 10, "%.2f ms at %.0f req/s", reg.P99HalfMs, r.registerHalf.offered)
	for _, t := range rep.ServerTimes {
		add(fmt.Sprintf("server time p95 < %g ms: %s", t.Target, t.Page), t.Samples > 0 && t.P95Ms < t.Target,
			"%.2f ms (p50 %.2f ms, %d answers)", t.P95Ms, t.P50Ms, t.Samples)
	}
	add("flood: dashboard p99 < 50 ms", flood.P99Ms < 50, "%.2f ms", flood.P99Ms)
	add("flood: no errors on page views", flood.Errors == 0, "%d of %d", flood.Errors, flood.Errors+r.flood.ok)
	add("flood: every login answered (303/422/429/503)", r.floodLogin.errs == 0, "%s", codeText(r.floodLogin))
	add("flood: server RSS < 150 MiB", flood.RSSMiB < 150, "%.1f MiB", flood.RSSMiB)
	if im := rep.Import; im != nil {
		add("import: upload to preview < 3 s", im.UploadS < 3, "%.2f s (%s rows%s)", im.UploadS, thousands(im.Rows), fewerImportRows(im.Rows))
		add("import: confirm to committed < 3 s", im.CommitS < 3, "%.2f s (%s rows written)", im.CommitS, thousands(im.Written))
		peak := max(im.UploadRSSMiB, im.CommitRSSMiB)
		add("import: server RSS < 150 MiB", peak < 150, "%.1f MiB", peak)
	}
	add("start to first /readyz 200 < 300 ms", rep.StartMs < 300, "%.1f ms", rep.StartMs)

	note := func(format string, args ...any) { rep.Notes = append(rep.Notes, fmt.Sprintf(format, args...)) }
	note("hash, http hash and login: measured in alternation, %d rounds of hash, http hash and login and a last hash and http hash segment (the machine's speed drifts); hash is %d goroutines in the bench process, RSS the bench process's; http hash is the floor process's POST /login (the password checked on a gate of %d, 303), RSS the floor's; http hash and login are as fast as %d connections go",
		len(r.loginRuns), r.machine.GOMAXPROCS, r.machine.GOMAXPROCS, loginConns())
	for i, l := range r.loginRuns {
		if i+1 >= len(r.hashRuns) || i+1 >= len(r.httpHashRuns) {
			break
		}
		a := (r.hashRuns[i].rps() + r.hashRuns[i+1].rps()) / 2
		hh := (r.httpHashRuns[i].rps() + r.httpHashRuns[i+1].rps()) / 2
		note("round %d: login %.1f/s: %.0f%% of hash %.1f/s and %.1f/s, %.0f%% of http hash %.1f/s and %.1f/s; login p50 %.1f ms, p99 %.1f ms; %s; CPU server %.2f (login), floor %.2f (http hash), bench %.2f (login); steal %.2f/%.2f/%.2f (hash/http hash/login); page faults a login %d (server), an http hash %d (floor), a hash %d (bench)",
			i+1, l.rps(), 100*ratio(l.rps(), a), r.hashRuns[i].rps(), r.hashRuns[i+1].rps(),
			100*ratio(l.rps(), hh), r.httpHashRuns[i].rps(), r.httpHashRuns[i+1].rps(),
			ms(l.pct(0.5)), ms(l.pct(0.99)), codeText(l), l.cpu.server, r.httpHashRuns[i].cpu.server, l.cpu.bench,
			r.hashRuns[i].cpu.steal, r.httpHashRuns[i].cpu.steal, l.cpu.steal,
			perOp(l.cpu.serverFaults, l.ok), perOp(r.httpHashRuns[i].cpu.serverFaults, r.httpHashRuns[i].ok),
			perOp(r.hashRuns[i].cpu.benchFaults, r.hashRuns[i].ok))
		if l.ranOut {
			note("round %d: the login segment used up its prepared logins (half as many again as the hash segment before it would allow) and ended after %.1f s",
				i+1, l.end.Sub(l.start).Seconds())
		}
	}
	note("floor, dashboard, register, report: max rate over the same %d keep-alive connections (-workers); floor RSS is its child process's", r.workers)
	h := r.dashHalf
	note("dashboard at half peak: offered %.0f req/s, got %.1f, p50 %.2f ms, p99 %.2f ms, errors %d",
		h.offered, h.rps(), ms(h.pct(0.5)), ms(h.pct(0.99)), h.errs)
	f := r.floodLogin
	note("flood: page views offered %.0f req/s (-flood-views x dashboard peak; its limit column), logins offered %.0f req/s, answered %.1f/s: %s",
		r.flood.offered, f.offered, f.rps(), codeText(f))
	note("flood: server RSS %.1f MiB before, %.1f MiB after, peak %.1f MiB (first half %s, second half %s); peak open descriptors (mostly connections) %d, dashboard alone %d",
		r.dashRSSBefore, r.floodRSSAfter, flood.RSSMiB, mib(r.floodHalves[0]), mib(r.floodHalves[1]), r.flood.fds, r.dashboard.fds)
	note("register: the first 50 rows of %q, the account holding most of %s's rows, on a server started after the flood",
		l.account, benchUser(l.index))
	h = r.registerHalf
	note("register at half peak: offered %.0f req/s, got %.1f, p50 %.2f ms, p99 %.2f ms, errors %d; server time p50 %.2f ms, p95 %.2f ms",
		h.offered, h.rps(), ms(h.pct(0.5)), ms(h.pct(0.99)), h.errs, ms(h.serverPct(0.5)), ms(h.serverPct(0.95)))
	note("report: %s in its default range, %s to %s (%s rows of the ledger dated in it), chart and table, signed in as %s on the register's server",
		reportPath, l.reportFrom, l.month, thousands(l.reportRows), benchUser(l.index))
	h = r.reportHalf
	note("report at half peak: offered %.0f req/s, got %.1f, p50 %.2f ms, p99 %.2f ms, errors %d; server time p50 %.2f ms, p95 %.2f ms",
		h.offered, h.rps(), ms(h.pct(0.5)), ms(h.pct(0.99)), h.errs, ms(h.serverPct(0.5)), ms(h.serverPct(0.95)))
	note("ledger: tally demo %s --transactions %d wrote %s rows (split parts and transfer legs included) in %.1f s, before any server started (not measured); the register's account holds %s%s",
		benchUser(l.index), l.asked, thousands(l.userRows), l.took.Seconds(), thousands(l.accountRows), fewerRows(l.asked))
	note("server time: Server-Timing app;dur (first middleware to the end of rendering) of each answer, signed in as %s, each page read at %d req/s after a 0.2 s warm-up, on the register's server; /transactions filtered by the commonest payee %q, the commonest category %q, and %q from %s to %s; the budget of %s with %d amounts the bench set through POST /budget; the reports in their default range",
		benchUser(l.index), sampleRate, l.payee, l.category, l.account, l.from, l.to, l.month, l.budgeted)
	if im := r.imports; im != nil {
		note("import: a CSV the bench writes (Date,Payee,Memo,Amount; %d payees, three years of dates, amounts with cents), %s rows, %.1f MB%s, through POST /api/imports (multipart file and account_id) into %q, a USD checking account the bench adds through POST /accounts, signed in as %s, on a server of its own; upload to preview is the send to the last byte of the answer (every row with its status), confirm to committed the same for POST /api/imports/{id}/commit; preview counts %s; committed: written %d, skipped %d, duplicates %d; RSS the server's peak during each",
			len(importPayees), thousands(im.rows), float64(im.bytes)/1e6, fewerImportRows(im.rows), im.account, benchUser(l.index),
			countText(im.counts), im.written, im.skipped, im.duplicates)
	}
	var starts []string
	for _, d := range r.starts {
		starts = append(starts, fmt.Sprintf("%.1f", ms(d)))
	}
	note("start: exec to first /readyz 200 on the existing data dir (the users and the ledger), %s ms (median reported)", strings.Join(starts, ", "))
	var cpu []string
	runs := []*runStats{r.hash, r.httpHash, r.login, r.floor, r.dashboard, r.dashHalf, r.flood, r.register, r.registerHalf, r.report, r.reportHalf}
	for _, p := range r.serverTimes {
		runs = append(runs, p.st)
	}
	if r.imports != nil {
		runs = append(runs, r.imports.upload, r.imports.commit)
	}
	for _, s := range runs {
		cpu = append(cpu, fmt.Sprintf("%s %.2f/%.2f/%.2f/%.2f", s.name, s.cpu.server, s.cpu.bench, s.cpu.other, s.cpu.steal))
	}
	note("CPU in cores of %d, server/bench (load generator)/other processes/steal (taken by the VM's host): %s",
		runtime.NumCPU(), strings.Join(cpu, ", "))
	if strings.HasPrefix(r.database, "PostgreSQL") {
		note("database: %s; its server's processes are not the server's here: on a local Postgres their CPU counts as other processes', and their memory is in no RSS column", r.database)
	}
	if busy := segmentsOver(r, func(c cpuUse) float64 { return c.other }, otherWarning); len(busy) > 0 {
		note("warning: other processes on this machine used more than %.2f of a core during %s; a limit measured then is low and a p99 high, so the rows built on them are not the machine's",
			otherWarning, strings.Join(busy, ", "))
	}
	if stolen := segmentsOver(r, func(c cpuUse) float64 { return c.steal }, stealWarning); len(stolen) > 0 {
		note("warning: the VM's host took more than %.2f of a core (steal) during %s; a limit measured then is low and a p99 high, so the rows built on them are not the machine's",
			stealWarning, strings.Join(stolen, ", "))
	}
	if s := codeText(r.flood); r.flood.errs > 0 {
		note("flood page views: %s", s)
	}
	return rep
}

func (rep *report) print(w io.Writer) {
	m := rep.Machine
	fmt.Fprintf(w, "Tally load benchmark, %s, %.0f s a scenario\n", m.Date, rep.ScenarioS)
	fmt.Fprintf(w, "GOMAXPROCS %d, nproc %s, CPU %s, %s\n", m.GOMAXPROCS, m.NProc, m.CPU, m.Go)
	if rep.Database != "" {
		fmt.Fprintf(w, "database %s\n", rep.Database)
	}
	fmt.Fprintf(w, "binary %.1f MiB, start to first /readyz 200: %.1f ms\n\n", rep.BinaryMiB, rep.StartMs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50 ms\tp99 ms\tlimit\tratio\tRSS MiB\terrors\t")
	for _, s := range rep.Scenarios {
		fmt.Fprintf(tw, "%s\t%.1f\t%.2f\t%.2f\t%.1f\t%.2f\t%.1f\t%d\t\n",
			s.Name, s.RPS, s.P50Ms, s.P99Ms, s.Limit, s.Ratio, s.RSSMiB, s.Errors)
	}
	tw.Flush()
	if reg, ok := rep.scenario("register"); ok {
		floor, _ := rep.scenario("floor")
		l := rep.Ledger
		fmt.Fprintf(w, "\nregister: %.2f of limit B (floor, %.1f/s), p99 %.2f ms at half its peak; the first 50 of the %s rows of %q (%s's ledger: %s rows from tally demo --transactions %d%s)\n",
			reg.Ratio, floor.RPS, reg.P99HalfMs, thousands(l.AccountRows), l.Account, l.User, thousands(l.Rows), l.Asked, fewerRows(l.Asked))
	}
	if spending, ok := rep.scenario("report"); ok {
		floor, _ := rep.scenario("floor")
		l := rep.Ledger
		fmt.Fprintf(w, "report: %.2f of limit B (floor, %.1f/s), p99 %.2f ms at half its peak; %s from %s to %s, %s rows of the ledger\n",
			spending.Ratio, floor.RPS, spending.P99HalfMs, reportPath, l.ReportFrom, l.BudgetMonth, thousands(l.ReportRows))
	}
	if len(rep.ServerTimes) > 0 {
		fmt.Fprintf(w, "\nserver time (Server-Timing app;dur) at %d req/s:\n", sampleRate)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "page\tp50 ms\tp95 ms\ttarget\tanswers\terrors\t")
		for _, t := range rep.ServerTimes {
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t< %g\t%d\t%d\t\n", t.Page, t.P50Ms, t.P95Ms, t.Target, t.Samples, t.Errors)
		}
		tw.Flush()
	}
	if im := rep.Import; im != nil {
		fmt.Fprintf(w, "\nimport: a %s-row CSV (%.1f MB%s) into a new account, written %s:\n",
			thousands(im.Rows), float64(im.Bytes)/1e6, fewerImportRows(im.Rows), thousands(im.Written))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "step\tseconds\ttarget\tRSS MiB\ttarget\t")
		fmt.Fprintf(tw, "upload to preview\t%.2f\t< 3\t%.1f\t< 150\t\n", im.UploadS, im.UploadRSSMiB)
		fmt.Fprintf(tw, "confirm to committed\t%.2f\t< 3\t%.1f\t< 150\t\n", im.CommitS, im.CommitRSSMiB)
		tw.Flush()
	}
	if login, ok := rep.scenario("login"); ok {
		httpHash, _ := rep.scenario("http hash")
		fmt.Fprintf(w, "\nlogin: %.2f of the HTTP hash limit (http hash, %.1f/s), %.2f of limit A (hash, %.1f/s)\n",
			login.RatioHTTPHash, httpHash.RPS, login.Ratio, login.Limit)
	}
	fmt.Fprintln(w, "\nnotes:")
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w, "\ntargets:")
	for _, t := range rep.Targets {
		verdict := "PASS"
		if !t.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", verdict, t.Name, t.Value)
	}
}

// scenario is the table's row of that name.
func (rep *report) scenario(name string) (scenario, bool) {
	i := slices.IndexFunc(rep.Scenarios, func(s scenario) bool { return s.Name == name })
	if i < 0 {
		return scenario{}, false
	}
	return rep.Scenarios[i], true
}

func (rep *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
