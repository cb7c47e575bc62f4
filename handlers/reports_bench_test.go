package handlers

import (
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkReportPages times the budget and report pages the way the issue states their targets:
// the server's own time (Server-Timing: app;dur=) at the 95th percentile, on a tally demo ledger
// of 50,000 transactions (or TALLY_BENCH_LEDGER_ROWS), 12 months, through the whole app without
// the network. Targets: each report under 10 ms, the budget under 5 ms.
func BenchmarkReportPages(b *testing.B) {
	rows := 50000
	if s := os.Getenv("TALLY_BENCH_LEDGER_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	ta := newTestApp(b)
	_, c := ta.signedInAda()
	if _, errOut, err := ta.runCLI("", nil, "demo", "ada", "--transactions", strconv.Itoa(rows)); err != nil {
		b.Fatal(err, errOut)
	}
	month := ta.clock.Now().Format("2006-01")
	for _, path := range []string{
		"/budget?month=" + month,
		"/reports/spending?range=12m",
		"/reports/cashflow?range=12m",
		"/reports/networth?range=12m",
		"/reports/budget?range=12m",
		"/api/budget?month=" + month,
		"/api/reports/spending",
		"/dashboard",
	} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, testBase.String()+strings.TrimPrefix(path, "/"), nil)
			for _, ck := range c.jar.Cookies(testBase) {
				req.AddCookie(ck)
			}
			var durs []time.Duration
			var size int64
			for b.Loop() {
				res, err := ta.app.Test(req, -1)
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatal(err, res.StatusCode)
				}
				size, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				ms, err := strconv.ParseFloat(strings.TrimPrefix(res.Header.Get("Server-Timing"), "app;dur="), 64)
				if err != nil {
					b.Fatalf("Server-Timing %q", res.Header.Get("Server-Timing"))
				}
				durs = append(durs, time.Duration(ms*float64(time.Millisecond)))
			}
			sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
			b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(durs[len(durs)*95/100].Microseconds()), "p95-µs")
			b.ReportMetric(float64(size), "bytes/page")
		})
	}
}
