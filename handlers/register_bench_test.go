package handlers

import (
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRegister is the benchmark's register scenario in-process: a signed-in GET of the first
// page of the busiest account of a tally demo ledger (50,000 transactions, or
// TALLY_BENCH_LEDGER_ROWS), through the whole app without the network. cpu-µs/op is the process's CPU
// time (user and system) per view. Run with -cpuprofile to see where a view goes.
func BenchmarkRegister(b *testing.B) {
	rows := 50000
	if s := os.Getenv("TALLY_BENCH_LEDGER_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	ta := newTestApp(b)
	_, c := ta.signedInAda()
	if _, errOut, err := ta.runCLI("", nil, "demo", "ada", "--transactions", strconv.Itoa(rows)); err != nil {
		b.Fatal(err, errOut)
	}
	var busiest struct{ AccountID uint }
	if err := ta.db.Raw(`SELECT account_id FROM transactions WHERE parent_id IS NULL
		GROUP BY account_id ORDER BY COUNT(*) DESC LIMIT 1`).Scan(&busiest).Error; err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, testBase.String()+"accounts/"+ids(busiest.AccountID), nil)
	for _, ck := range c.jar.Cookies(testBase) {
		req.AddCookie(ck)
	}
	view := func(b *testing.B, before func()) {
		var size int64
		b.ReportAllocs()
		cpu0 := processCPU()
		for b.Loop() {
			before()
			res, err := ta.app.Test(req, -1)
			if err != nil || res.StatusCode != http.StatusOK {
				b.Fatal(err, res.StatusCode)
			}
			size, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		// CPU time says more than ns/op on a machine shared with other work.
		b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		b.ReportMetric(float64(size), "bytes/page")
	}
	b.Run("cached", func(b *testing.B) { view(b, func() {}) })
	// Over loopback with keep-alive connections, as the load benchmark reads it: the server's
	// goroutines live on between requests, as they do in production.
	b.Run("http", func(b *testing.B) {
		base := ta.listen()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.ReportAllocs()
		cpu0 := processCPU()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			r := req.Clone(req.Context())
			r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(base, "http://")
			r.Host = r.URL.Host
			for pb.Next() {
				res, err := client.Do(r)
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatal(err, res.StatusCode)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
		b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	})
	// As the first view after a write: nothing of the ledger cached.
	b.Run("uncached", func(b *testing.B) {
		view(b, func() { ta.h.ledgerCache = newLedgerCache(ledgerCacheUsers, ledgerPageBytes) })
	})
}
