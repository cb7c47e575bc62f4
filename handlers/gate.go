package handlers

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models"
)

// hashGate bounds password hashing: argon2id takes ~19 MiB and tens of milliseconds a hash, so
// a fixed pool of workers (one per CPU) does all of it, a queue of 8 per worker waits (shorter
// queues turned away a third of the logins at the hash limit, since hash times jitter), and
// anything beyond is refused at once. A login flood then cannot exhaust memory.
//
// Page views come first: while pages are being served (a GET within the quiet period), every
// worker but the first waits before taking its next job, so one core stays free for them. Go
// has no goroutine priorities, and with every P busy hashing a page view waits for the
// scheduler's 10 ms preemption (flood p99 52 ms at GOMAXPROCS = CPUs); more Ps than CPUs
// instead cost a quarter of the hashing throughput (gctrace showed stop-the-world pauses of up
// to 6 ms and idle mark workers competing with the hashing threads). The first worker, too,
// rests after each job as long as the job took, so hashing takes at most half a core while
// pages are served: on two cores a login flood beside page views otherwise asked for more CPU
// than there was (a core hashing, 0.6 serving pages, 0.65 for the load generator), and views
// queued (flood p50 7-11 ms, p99 37-45 ms; resting: p50 3 ms, p99 28-31 ms).
type hashGate struct {
	jobs     chan func()
	workers  int
	quiet    time.Duration // how long after the last page view the extra workers wait
	stopped  chan struct{}
	stopOnce sync.Once
	epoch    time.Time
	lastView atomic.Int64 // time since epoch of the latest page view, in ns
	onYield  func()       // tests: called when an extra worker starts waiting for quiet
	onRest   func()       // tests: called when the first worker rests after a job
}

// viewQuiet is the gate's quiet period: page views of one user are seconds apart, a page
// view load keeps it busy.
const viewQuiet = 50 * time.Millisecond

func newHashGate(workers int) *hashGate {
	g := makeHashGate(workers, viewQuiet)
	g.start()
	return g
}

// makeHashGate is a gate whose workers are not running yet.
func makeHashGate(workers int, quiet time.Duration) *hashGate {
	g := &hashGate{jobs: make(chan func(), 8*workers), workers: workers, quiet: quiet,
		stopped: make(chan struct{}), epoch: time.Now()}
	g.lastView.Store(-int64(quiet))
	return g
}

func (g *hashGate) start() {
	for i := range g.workers {
		go g.work(i > 0)
	}
}

// stop ends the workers; the gate takes no work after it.
func (g *hashGate) stop() {
	g.stopOnce.Do(func() { close(g.stopped); close(g.jobs) })
}

func (g *hashGate) work(yields bool) {
	for {
		if yields && !g.waitForQuiet() {
			return
		}
		job, ok := <-g.jobs
		if !ok {
			return
		}
		start := time.Now()
		job()
		if !yields && g.sinceView() < g.quiet {
			if g.onRest != nil {
				g.onRest()
			}
			if !g.pause(time.Since(start)) {
				return
			}
		}
	}
}

// sawView records a page view (cheap: one clock read and one atomic store).
func (g *hashGate) sawView() { g.lastView.Store(int64(time.Since(g.epoch))) }

// sinceView is the time since the latest page view.
func (g *hashGate) sinceView() time.Duration {
	return time.Since(g.epoch) - time.Duration(g.lastView.Load())
}

// pause waits for d; false when the gate stops meanwhile.
func (g *hashGate) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-g.stopped:
		return false
	case <-t.C:
		return true
	}
}

// waitForQuiet returns true once no page view was seen for the quiet period, false when the
// gate stops meanwhile.
func (g *hashGate) waitForQuiet() bool {
	yielded := false
	for {
		wait := g.quiet - g.sinceView()
		if wait <= 0 {
			return true
		}
		if !yielded && g.onYield != nil {
			g.onYield()
		}
		yielded = true
		if !g.pause(wait) {
			return false
		}
	}
}

var errBusy = fiber.NewError(fiber.StatusServiceUnavailable, "Tally is busy right now. Please try again in a moment.")

// full reports whether a new job would be turned away; handlers ask before doing any other
// work for a request that will need a hash, so shedding costs next to nothing.
func (g *hashGate) full() bool { return len(g.jobs) == cap(g.jobs) }

// run queues fn for a worker and waits for it, or fails at once when the queue is full.
func (g *hashGate) run(c *fiber.Ctx, fn func()) error {
	done := make(chan struct{})
	select {
	case g.jobs <- func() { defer close(done); fn() }:
	default:
		c.Set(fiber.HeaderRetryAfter, "1")
		return errBusy
	}
	<-done
	return nil
}

// refuseIfBusy answers 503 at once when the hashing queue is full.
func (h *Handlers) refuseIfBusy(c *fiber.Ctx) error {
	if h.gate.full() {
		c.Set(fiber.HeaderRetryAfter, "1")
		return errBusy
	}
	return nil
}

// hashPassword hashes through the gate.
func (h *Handlers) hashPassword(c *fiber.Ctx, password string) (hash string, err error) {
	if gateErr := h.gate.run(c, func() { hash, err = models.HashPassword(password, h.hash) }); gateErr != nil {
		return "", gateErr
	}
	return hash, err
}

// checkPassword compares through the gate.
func (h *Handlers) checkPassword(c *fiber.Ctx, u *models.User, password string) (ok bool, err error) {
	if gateErr := h.gate.run(c, func() { ok, _, err = models.CheckPassword(password, u.PasswordHash, h.hash) }); gateErr != nil {
		return false, gateErr
	}
	if err == models.ErrInvalidHash {
		err = nil
	}
	return ok, err
}
