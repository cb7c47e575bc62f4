package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// runStats is one measured run: what succeeded, how fast, and the server's peak RSS.
type runStats struct {
	name    string
	offered float64 // requests/s asked of vegeta; 0 = as fast as the workers go
	ok      int
	errs    int
	codes   map[int]int // 0 = no HTTP response (timeout, refused, ...)
	errText map[string]int
	lat     []time.Duration // of successful requests
	server  []time.Duration // of successful requests with a Server-Timing app;dur (signed-in reads)
	start   time.Time
	end     time.Time
	rssMiB  float64
	fds     int    // peak open descriptors of the server
	cpu     cpuUse // CPU used meanwhile by the server, the bench and the rest of the machine
	ranOut  bool   // the targeter had no prepared request left (logins): the run ended early
}

func newStats(name string, offered float64) *runStats {
	return &runStats{name: name, offered: offered, codes: map[int]int{}, errText: map[string]int{}}
}

// rps is successful requests per second over the run, from the first send to the last answer.
func (s *runStats) rps() float64 {
	d := s.end.Sub(s.start).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.ok) / d
}

// pct is the q-quantile (0..1) of the successful requests' latencies.
func (s *runStats) pct(q float64) time.Duration { return quantile(s.lat, q) }

// serverPct is the q-quantile (0..1) of the server times the answers reported.
func (s *runStats) serverPct(q float64) time.Duration { return quantile(s.server, q) }

// quantile sorts ds if needed and returns its q-quantile (0..1), zero for none.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	i := int(float64(len(ds))*q+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func (s *runStats) add(r *vegeta.Result, ok bool) {
	if s.start.IsZero() || r.Timestamp.Before(s.start) {
		s.start = r.Timestamp
	}
	if e := r.End(); e.After(s.end) {
		s.end = e
	}
	s.codes[int(r.Code)]++
	if ok {
		s.ok++
		s.lat = append(s.lat, r.Latency)
		if d, found := serverTime(r.Headers); found {
			s.server = append(s.server, d)
		}
		return
	}
	s.errs++
	if r.Code == 0 && len(s.errText) < 5 {
		s.errText[r.Error]++
	}
}

// serverTime reads the app metric's duration from a Server-Timing header ("app;dur=1.23", in
// milliseconds, among other metrics or alone).
func serverTime(h http.Header) (time.Duration, bool) {
	for _, v := range h.Values("Server-Timing") {
		for metric := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(metric), ";")
			if name != "app" {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if k != "dur" {
					continue
				}
				if f, err := strconv.ParseFloat(val, 64); err == nil && f >= 0 {
					return time.Duration(f * float64(time.Millisecond)), true
				}
			}
		}
	}
	return 0, false
}

// attacker is vegeta set up the same way for every scenario: keep-alive connections, no
// redirects followed (a 303 is the answer), response bodies read and discarded.
func attacker(workers, maxWorkers uint64) *vegeta.Attacker {
	return vegeta.NewAttacker(
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.KeepAlive(true),
		vegeta.Workers(workers),
		vegeta.MaxWorkers(maxWorkers),
		vegeta.MaxBody(0),
		vegeta.Timeout(10*time.Second),
	)
}

// maxRate is vegeta's "as fast as n workers go": each worker on its own connection sends its
// next request when the last one is answered.
func maxRate(n int) (*vegeta.Attacker, vegeta.Pacer) {
	return attacker(uint64(n), uint64(n)), vegeta.Rate{Freq: 0, Per: 0}
}

// fixedRate sends rps requests a second (to a tenth of a request), adding workers (each with
// its own connection) up to maxWorkers while answers lag. When all are busy vegeta falls behind
// the rate: the achieved rate then shows the shortfall.
func fixedRate(rps float64, maxWorkers int) (*vegeta.Attacker, vegeta.Pacer) {
	return attacker(uint64(min(16, maxWorkers)), uint64(maxWorkers)), vegeta.Rate{Freq: max(1, int(rps*10+0.5)), Per: 10 * time.Second}
}

// Connection bounds of fixed-rate runs: page views come from a bounded set of clients (4x the
// max-rate runs' connections, see -workers); logins, a flood among them, from up to 4096.
func viewWorkers(o options) int { return 4 * o.workers }

const loginWorkers = 4096

// attack runs one vegeta attack for d, sampling the RSS of pid, and collects the results.
// success decides which status codes count; everything else is an error.
func attack(ctx context.Context, a *vegeta.Attacker, p vegeta.Pacer, tr vegeta.Targeter, d time.Duration,
	st *runStats, pid int, success func(code int) bool) *runStats {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			a.Stop()
		case <-done:
		}
	}()
	rss := sampleRSS(pid)
	for r := range a.Attack(tr, p, d, st.name) {
		if r.Error == vegeta.ErrNoTargets.Error() {
			// Nothing was sent: vegeta stops the run, which ends early rather than failing.
			st.ranOut = true
			continue
		}
		st.add(r, r.Code != 0 && success(int(r.Code)))
	}
	st.rssMiB, st.fds, st.cpu = rss.stop()
	return st
}

func is(codes ...int) func(int) bool {
	return func(c int) bool { return slices.Contains(codes, c) }
}

// getTargeter repeats one GET, with a session cookie when given.
func getTargeter(u, cookie string) vegeta.Targeter {
	t := vegeta.Target{Method: http.MethodGet, URL: u, Header: http.Header{}}
	if cookie != "" {
		t.Header.Set("Cookie", sessionCookie+"="+cookie)
	}
	return vegeta.NewStaticTargeter(t)
}

const sessionCookie = "tally_session"

// csrfCookie carries the random value that an anonymous form's CSRF token is bound to.
const csrfCookie = "tally_csrf"

// loginPair is an anonymous CSRF cookie and its form's token, good for one login POST (a
// successful login replaces it with a session).
type loginPair struct{ cookie, csrf string }

var csrfInput = regexp.MustCompile(`name="_csrf"[^>]*value="([^"]+)"`)

// plainClient does setup requests outside the measured windows; it follows no redirects.
var plainClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// prepareLogins fetches n login forms (setup, not measured): GET /login gives a CSRF cookie and
// the token of its form.
func prepareLogins(ctx context.Context, base string, n int) ([]loginPair, error) {
	pairs := make([]loginPair, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				p, err := fetchLoginForm(base)
				if err != nil {
					errc <- err
					return
				}
				pairs[i] = p
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := errors.Join(<-errc, ctx.Err()); err != nil {
		return nil, fmt.Errorf("prepare logins: %w", err)
	}
	return pairs, nil
}

func fetchLoginForm(base string) (loginPair, error) {
	resp, err := plainClient.Get(base + "/login")
	if err != nil {
		return loginPair{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return loginPair{}, err
	}
	var p loginPair
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie {
			p.cookie = c.Value
		}
	}
	if m := csrfInput.FindSubmatch(body); m != nil {
		p.csrf = string(m[1])
	}
	if resp.StatusCode != http.StatusOK || p.cookie == "" || p.csrf == "" {
		return p, fmt.Errorf("GET /login: status %d, csrf cookie %t, csrf input %t",
			resp.StatusCode, p.cookie != "", p.csrf != "")
	}
	return p, nil
}

// loginForm is the body of a login POST for user i with pair p.
func loginForm(p loginPair, i int) (http.Header, []byte) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("Cookie", csrfCookie+"="+p.cookie)
	body := url.Values{"_csrf": {p.csrf}, "login": {benchUser(i)}, "password": {benchPassword}}.Encode()
	return h, []byte(body)
}

// loginTargeter hands out each prepared pair once, cycling through the seeded users.
func loginTargeter(base string, pairs []loginPair, users int) vegeta.Targeter {
	var next atomic.Int64
	return func(t *vegeta.Target) error {
		i := int(next.Add(1) - 1)
		if i >= len(pairs) {
			return vegeta.ErrNoTargets
		}
		t.Method, t.URL = http.MethodPost, base+"/login"
		t.Header, t.Body = loginForm(pairs[i], i%users)
		return nil
	}
}

// loginOnce signs user i in and returns the new session cookie.
func loginOnce(base string, i int) (string, error) {
	p, err := fetchLoginForm(base)
	if err != nil {
		return "", err
	}
	h, body := loginForm(p, i)
	req, err := http.NewRequest(http.MethodPost, base+"/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header = h
	resp, err := plainClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" && resp.StatusCode == http.StatusSeeOther {
			return c.Value, nil
		}
	}
	return "", fmt.Errorf("POST /login as %s: status %d, no new session cookie", benchUser(i), resp.StatusCode)
}
