package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"tally/models"
)

// measureHash is limit A: GOMAXPROCS goroutines hashing with Tally's parameters for d, in this
// process, with no load running. Its RSS is the bench process's own.
func measureHash(ctx context.Context, d time.Duration) (*runStats, error) {
	st := newStats("hash", 0)
	rss := sampleRSS(os.Getpid())
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			var lat []time.Duration
			var err error
			for err == nil && ctx.Err() == nil && time.Now().Before(deadline) {
				t := time.Now()
				_, err = models.HashPassword(benchPassword, models.DefaultHashParams)
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			defer mu.Unlock()
			st.lat, st.ok = append(st.lat, lat...), st.ok+len(lat)
			firstErr = errors.Join(firstErr, err)
		})
	}
	wg.Wait()
	st.start, st.end = start, time.Now()
	st.rssMiB, _, st.cpu = rss.stop()
	st.codes[200] = st.ok
	return st, errors.Join(firstErr, ctx.Err())
}

// Limit A, the HTTP hash limit and login are measured in alternation, in rounds of a hash
// segment, an HTTP hash segment and a login segment, ending with a hash and an HTTP hash
// segment, because a VM's speed drifts within seconds (docs/performance.md). Each row is the
// sum of its segments.
const rounds = 3

// hashAndLogin returns the hash segments (limit A, in this process with the servers idle), the
// HTTP hash segments (the floor's POST /login) and the login segments: correct credentials over
// many users, as fast as loginConns connections go. That keeps every hashing worker busy with
// jobs queued behind it, and stays under the gate's queue (8 per worker), so the run measures
// throughput rather than refusals.
func hashAndLogin(ctx context.Context, srv, floor *proc, o options) (hash, httpHash, login []*runStats, err error) {
	seg := max(time.Second, o.dur/rounds)
	conns := loginConns()
	floorLogin := floorLoginTargeter(floor.base)
	for i := range rounds + 1 {
		progress("limit A: argon2id hashes for %s, no load (segment %d of %d)", seg, i+1, rounds+1)
		if _, err := measureHash(ctx, segWarmUp); err != nil {
			return nil, nil, nil, err
		}
		h, err := measureHash(ctx, seg)
		if err != nil {
			return nil, nil, nil, err
		}
		hash = append(hash, h)

		progress("HTTP hash limit: the floor's POST /login over %d connections for %s (segment %d of %d)", conns, seg, i+1, rounds+1)
		warmUp(ctx, floorLogin, floor.pid(), conns, segWarmUp)
		a, p := maxRate(conns)
		httpHash = append(httpHash, attack(ctx, a, p, floorLogin, seg,
			newStats(fmt.Sprintf("http hash %d", i+1), 0), floor.pid(), is(fiber.StatusSeeOther)))
		if i == rounds {
			break
		}

		pairs, err := prepareLogins(ctx, srv.base, int(h.rps()*(seg+segWarmUp).Seconds()*1.5)+4*conns)
		if err != nil {
			return nil, nil, nil, err
		}
		progress("login: max rate over %d connections for %s (segment %d of %d)", conns, seg, i+1, rounds)
		tr := loginTargeter(srv.base, pairs, o.users)
		warmUp(ctx, tr, srv.pid(), conns, segWarmUp)
		a, p = maxRate(conns)
		login = append(login, attack(ctx, a, p, tr, seg,
			newStats(fmt.Sprintf("login %d", i+1), 0), srv.pid(), is(fiber.StatusSeeOther)))
	}
	return hash, httpHash, login, ctx.Err()
}

// segWarmUp precedes each segment, unrecorded: after a pause both processes' heaps have been
// handed back to the OS, and the first hashes of a segment would pay for the page faults.
const segWarmUp = 500 * time.Millisecond

// loginConns is 4 connections per CPU: the server runs one hashing worker per CPU.
func loginConns() int { return 4 * runtime.NumCPU() }

// merge sums segments into one run: answers, latencies and time; the peak RSS; CPU weighted
// by time.
func merge(name string, segs []*runStats) *runStats {
	m := newStats(name, 0)
	var total time.Duration
	for _, s := range segs {
		d := s.end.Sub(s.start)
		total += d
		m.ok, m.errs = m.ok+s.ok, m.errs+s.errs
		m.lat = append(m.lat, s.lat...)
		m.server = append(m.server, s.server...)
		for c, n := range s.codes {
			m.codes[c] += n
		}
		for e, n := range s.errText {
			m.errText[e] += n
		}
		m.rssMiB, m.fds = max(m.rssMiB, s.rssMiB), max(m.fds, s.fds)
		m.ranOut = m.ranOut || s.ranOut
		m.cpu.server += s.cpu.server * d.Seconds()
		m.cpu.bench += s.cpu.bench * d.Seconds()
		m.cpu.other += s.cpu.other * d.Seconds()
		m.cpu.steal += s.cpu.steal * d.Seconds()
	}
	if total > 0 {
		m.cpu.server /= total.Seconds()
		m.cpu.bench /= total.Seconds()
		m.cpu.other /= total.Seconds()
		m.cpu.steal /= total.Seconds()
	}
	m.start = time.Unix(0, 0)
	m.end = m.start.Add(total)
	return m
}

// pause lets the server finish queued work between runs.
func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
		return nil
	}
}

// warmUp runs unrecorded for d at max rate, so connections exist and caches are warm.
func warmUp(ctx context.Context, tr vegeta.Targeter, pid, workers int, d time.Duration) {
	a, p := maxRate(workers)
	attack(ctx, a, p, tr, d, newStats("warm-up", 0), pid, is(200))
}

// startFloor starts the floor server: this binary with -floor-server, in a child process.
func startFloor(tmp string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	srv, _, err := startProc(self, []string{"-floor-server", addr}, os.Environ(), filepath.Join(tmp, "floor.log"), addr, "/")
	return srv, err
}

// floorScenario is limit B: the floor's page, driven like the dashboard, in a floor process of
// its own (the hashes of the HTTP hash limit would have grown the other's heap).
func floorScenario(ctx context.Context, tmp string, o options) (*runStats, error) {
	srv, err := startFloor(tmp)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	tr := getTargeter(srv.base+"/", "")
	warmUp(ctx, tr, srv.pid(), o.workers, time.Second)
	progress("limit B: bare Fiber page at max rate (%d connections) for %s", o.workers, o.dur)
	a, p := maxRate(o.workers)
	st := attack(ctx, a, p, tr, o.dur, newStats("floor", 0), srv.pid(), is(fiber.StatusOK))
	return st, errors.Join(ctx.Err(), srv.stop())
}

// dashboardScenario signs in once and reads /dashboard at max rate, then at half that rate.
func dashboardScenario(ctx context.Context, srv *proc, o options) (full, half *runStats, err error) {
	cookie, err := loginOnce(srv.base, 0)
	if err != nil {
		return nil, nil, err
	}
	return peakAndHalf(ctx, srv, o, "dashboard", srv.base+"/dashboard", cookie)
}

// registerScenario signs in as the ledger's user and reads the first page of the register of
// the account holding most rows at max rate, then at half that rate.
func registerScenario(ctx context.Context, srv *proc, o options, ls *ledgerSeed) (full, half *runStats, cookie string, err error) {
	if cookie, err = loginOnce(srv.base, ls.index); err != nil {
		return nil, nil, "", err
	}
	full, half, err = peakAndHalf(ctx, srv, o, "register", srv.base+ls.registerPath(), cookie)
	return full, half, cookie, err
}

// reportScenario sets the budget amounts the budget page's server time needs, then reads the
// spending report of the ledger's user at max rate, then at half that rate, with the register's
// session on the register's server.
func reportScenario(ctx context.Context, srv *proc, o options, ls *ledgerSeed, cookie string) (full, half *runStats, err error) {
	progress("budget: %d amounts for %s through POST /budget (not measured)", len(ls.budgetCategories), ls.month)
	if err := setBudgets(srv.base, cookie, ls); err != nil {
		return nil, nil, err
	}
	return peakAndHalf(ctx, srv, o, "report", srv.base+reportPath, cookie)
}

// peakAndHalf reads one signed-in page at max rate over o.workers connections, then at half
// the rate reached.
func peakAndHalf(ctx context.Context, srv *proc, o options, name, u, cookie string) (full, half *runStats, err error) {
	tr := getTargeter(u, cookie)
	warmUp(ctx, tr, srv.pid(), o.workers, time.Second)
	progress("%s: max rate (%d connections) for %s", name, o.workers, o.dur)
	a, p := maxRate(o.workers)
	full = attack(ctx, a, p, tr, o.dur, newStats(name, 0), srv.pid(), is(fiber.StatusOK))
	if err := pause(ctx); err != nil {
		return nil, nil, err
	}
	rate := max(1, full.rps()/2)
	progress("%s: %.0f req/s (half of peak) for %s", name, rate, o.dur)
	a, p = fixedRate(rate, viewWorkers(o))
	half = attack(ctx, a, p, tr, o.dur, newStats(name+" half", rate), srv.pid(), is(fiber.StatusOK))
	return full, half, pause(ctx)
}

// floodScenario reads /dashboard at dashRate while login POSTs arrive at 4x limit A. Page views
// must all get 200; a login must get an answer (303 in, 422 refused, 429/503 turned away). It
// also returns the server's peak RSS in each half of the flood (zero where not measurable), to
// show whether memory still grows late in the flood.
func floodScenario(ctx context.Context, srv *proc, limitA, dashRate float64, o options) (dash, flood *runStats, halves [2]float64, err error) {
	floodRate := 4 * limitA
	pairs, err := prepareLogins(ctx, srv.base, int(floodRate*o.dur.Seconds()*1.2)+20)
	if err != nil {
		return nil, nil, halves, err
	}
	cookie, err := loginOnce(srv.base, 1)
	if err != nil {
		return nil, nil, halves, err
	}
	progress("flood: logins at %.0f req/s (limit A x4) with dashboard at %.0f req/s for %s", floodRate, dashRate, o.dur)
	var wg sync.WaitGroup
	wg.Go(func() {
		a, p := fixedRate(floodRate, loginWorkers)
		flood = attack(ctx, a, p, loginTargeter(srv.base, pairs, o.users), o.dur, newStats("flood logins", floodRate),
			srv.pid(), is(fiber.StatusSeeOther, fiber.StatusUnprocessableEntity, fiber.StatusTooManyRequests, fiber.StatusServiceUnavailable))
	})
	// Both attacks reset the peak as they start; halfway, the first half's peak is read and
	// reset, and the second half's is read once both have ended.
	first := make(chan float64, 1)
	mid := time.AfterFunc(o.dur/2, func() { first <- splitPeak(srv.pid()) })
	a, p := fixedRate(dashRate, viewWorkers(o))
	dash = attack(ctx, a, p, getTargeter(srv.base+"/dashboard", cookie), o.dur, newStats("flood", dashRate),
		srv.pid(), is(fiber.StatusOK))
	wg.Wait()
	if !mid.Stop() {
		halves[0] = <-first
	}
	if halves[0] > 0 {
		halves[1] = splitPeak(srv.pid())
	}
	dash.rssMiB, dash.fds = max(dash.rssMiB, flood.rssMiB, halves[0], halves[1]), max(dash.fds, flood.fds)
	return dash, flood, halves, ctx.Err()
}

// floorPage is about as small as a real page's head.
const floorPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Floor</title></head>` +
	`<body><main><h1>Floor</h1><p>A bare Fiber handler.</p></main></body></html>`

// serveFloor is the floor server, until SIGTERM: Fiber with the settings of handlers/app.go
// and Tally's runtime tuning (keep both in step), and two routes. GET / is limit B's page.
// POST /login is the HTTP hash limit: a login that does nothing but check the posted password,
// with Tally's parameters and Tally's bound (at most GOMAXPROCS hashes at once, as
// handlers.hashGate), and answer 303; no middleware, guard, transaction or session.
func serveFloor(addr string) error {
	tuneLikeTally(os.Getenv)
	stored, err := models.HashPassword(benchPassword, models.DefaultHashParams)
	if err != nil {
		return err
	}
	user := &models.User{PasswordHash: stored}
	gate := make(chan struct{}, runtime.GOMAXPROCS(0))

	app := fiber.New(fiber.Config{
		AppName:               "Tally",
		BodyLimit:             3 << 20,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           90 * time.Second,
		ReadBufferSize:        16 << 10,
		DisableStartupMessage: true,
	})
	app.Get("/", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(floorPage)
	})
	app.Post("/login", func(c *fiber.Ctx) error {
		password := c.FormValue("password")
		gate <- struct{}{}
		ok, _ := models.VerifyPassword(user, password, models.DefaultHashParams)
		<-gate
		if !ok {
			return c.SendStatus(fiber.StatusUnprocessableEntity)
		}
		return c.Redirect("/", fiber.StatusSeeOther)
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = app.ShutdownWithTimeout(5 * time.Second)
	}()
	return app.Listen(addr)
}

// tuneLikeTally is main.go's tuneRuntime (keep them in step): the same soft memory limit and
// GC target unless the environment sets them, so the floor's hashes pay what Tally's do.
func tuneLikeTally(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(110 << 20)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(75)
	}
}

// floorLoginTargeter repeats the POST of a Tally login (the same form fields and cookie) to the
// floor, which reads only the password.
func floorLoginTargeter(base string) vegeta.Targeter {
	h, body := loginForm(loginPair{cookie: "floor", csrf: "floor"}, 0)
	return vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: base + "/login", Header: h, Body: body})
}
