package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDashboard is one signed-in page view through the whole stack (session load, user
// load, templ render) without the network. Run with -cpuprofile to see where a view goes.
func BenchmarkDashboard(b *testing.B) {
	ta := newTestApp(b)
	_, c := ta.signedInAda()
	req, _ := http.NewRequest(http.MethodGet, testBase.String()+"dashboard", nil)
	for _, ck := range c.jar.Cookies(testBase) {
		req.AddCookie(ck)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := ta.app.Test(req, -1)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatal(err, res.StatusCode)
		}
		res.Body.Close()
	}
}

// BenchmarkLoginOverhead is a successful login POST through the whole stack with a tiny hash,
// so what it measures is what a login costs beside argon2: the guard's queries, the login
// transaction, the session write. cpu-ms/op is the process's CPU time (user and system) per
// login, GET /login excluded; run with -cpuprofile to see where it goes.
func BenchmarkLoginOverhead(b *testing.B) {
	ta := newTestApp(b, "TALLY_LOCKOUT_THRESHOLD", "100000000", "TALLY_IP_LOGIN_LIMIT", "100000000")
	ta.createUser("ada", "ada@example.com", goodPassword)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		c := ta.client()
		c.get("/login")
		form := url.Values{"login": {"ada"}, "password": {goodPassword}, "_csrf": {c.csrf}}
		reqs[i], _ = http.NewRequest(http.MethodPost, testBase.String()+"login", strings.NewReader(form.Encode()))
		reqs[i].Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, ck := range c.jar.Cookies(testBase) {
			reqs[i].AddCookie(ck)
		}
	}
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for _, req := range reqs {
		res, err := ta.app.Test(req, -1)
		if err != nil || res.StatusCode != http.StatusSeeOther {
			b.Fatal(err, res.StatusCode)
		}
		res.Body.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
