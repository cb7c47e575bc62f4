package handlers

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var appTimingValue = regexp.MustCompile(`^app;dur=([0-9]+\.[0-9]{2})$`)

// TestServerTiming: a signed-in user's reads say how long the server took, in milliseconds, no
// more than the whole request took; anonymous answers, writes and static files say nothing.
func TestServerTiming(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	checking := lc.account("Checking", "USD", "1,000.00")
	for i := range 60 {
		wantStatus(t, lc.tx(checking, "2026-11-02", "Grocer "+strconv.Itoa(i), "-12.34"), http.StatusSeeOther)
	}
	anon := ta.client()

	for _, tc := range []struct {
		name   string
		c      *client
		method string
		path   string
		status int
		timed  bool
	}{
		{"register", lc.client, http.MethodGet, "/accounts/" + ids(checking), http.StatusOK, true},
		{"transactions with a filter", lc.client, http.MethodGet, "/transactions?q=grocer&account_id=" + ids(checking), http.StatusOK, true},
		{"dashboard", lc.client, http.MethodGet, "/dashboard", http.StatusOK, true},
		{"read API", lc.client, http.MethodGet, "/api/accounts", http.StatusOK, true},
		{"page not found", lc.client, http.MethodGet, "/accounts/999999", http.StatusNotFound, true},
		{"write", lc.client, http.MethodPost, "/transactions", http.StatusSeeOther, false},
		{"static file", lc.client, http.MethodGet, "/static/app.css", http.StatusOK, false},
		{"anonymous page", anon, http.MethodGet, "/login", http.StatusOK, false},
		{"anonymous sent to sign in", anon, http.MethodGet, "/accounts/" + ids(checking), http.StatusSeeOther, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.c.getRequest(tc.path, nil)
			if tc.method == http.MethodPost {
				req = tc.c.postRequest(tc.path, txValues(checking, "2026-11-03", "Baker", "-2.50"), nil)
			}
			start := time.Now()
			res := tc.c.do(req)
			took := time.Since(start)
			wantStatus(t, res, tc.status)
			got := res.Header.Values("Server-Timing")
			if !tc.timed {
				if len(got) != 0 {
					t.Fatalf("Server-Timing %q, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("Server-Timing %q, want one app;dur=", got)
			}
			m := appTimingValue.FindStringSubmatch(got[0])
			if m == nil {
				t.Fatalf("Server-Timing %q, want app;dur= with milliseconds to 2 decimals", got[0])
			}
			dur, _ := strconv.ParseFloat(m[1], 64)
			if wall := float64(took) / float64(time.Millisecond); dur <= 0 || dur > wall+0.01 {
				t.Fatalf("server time %.2f ms of a request that took %.2f ms in all", dur, wall)
			}
		})
	}
}

func TestAppTiming(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{1234567 * time.Nanosecond, "app;dur=1.23"},
		{4 * time.Microsecond, "app;dur=0.00"},
		{2 * time.Second, "app;dur=2000.00"},
	} {
		if got := appTiming(tc.d); got != tc.want {
			t.Errorf("appTiming(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
