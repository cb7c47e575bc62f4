package handlers

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models"
)

// hashGate bounds password hashing: argon2id takes ~19 MiB and tens of milliseconds a hash, so
// a fixed pool of workers (one per CPU) does all of it, and at most 8 jobs per worker wait
// (shorter queues turned away a third of the logins at the hash limit, since hash times
// jitter). A login flood then cannot exhaust memory.
//
// The waiting jobs are shared fairly between clients (see fairness.go): each client has its own
// line, a free worker serves the client with the fewest jobs running, and when every place is
// taken a newcomer pushes out the newest job of the client holding the most. One address
// flooding logins thus delays only itself, while a lone client may still use the whole gate.
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
	fairQueue
	ready    chan struct{} // one token per waiting job: workers sleep on it
	workers  int
	quiet    time.Duration // how long after the last page view the extra workers wait
	stopped  chan struct{}
	stopOnce sync.Once
	epoch    time.Time
	lastView atomic.Int64 // time since epoch of the latest page view, in ns
	refused  refusalLog
	onYield  func() // tests: called when an extra worker starts waiting for quiet
	onRest   func() // tests: called when the first worker rests after a job
}

// viewQuiet is the gate's quiet period: page views of one user are seconds apart, a page
// view load keeps it busy.
const viewQuiet = 50 * time.Millisecond

func newHashGate(workers int, log *slog.Logger) *hashGate {
	g := makeHashGate(workers, viewQuiet)
	g.refused.log = log
	g.start()
	return g
}

// makeHashGate is a gate whose workers are not running yet.
func makeHashGate(workers int, quiet time.Duration) *hashGate {
	g := &hashGate{fairQueue: makeFairQueue(8 * workers), ready: make(chan struct{}, 8*workers),
		workers: workers, quiet: quiet, stopped: make(chan struct{}), epoch: time.Now()}
	g.lastView.Store(-int64(quiet))
	return g
}

func (g *hashGate) start() {
	for i := range g.workers {
		go g.work(i > 0)
	}
	go g.refused.report(g.stopped)
}

// stop ends the workers and refuses the jobs still waiting; the gate takes no work after it.
func (g *hashGate) stop() {
	g.stopOnce.Do(func() {
		close(g.stopped)
		for _, job := range g.close() {
			g.refused.add(job.client.key)
			job.done <- errBusy
		}
		g.refused.flush()
	})
}

func (g *hashGate) work(yields bool) {
	for {
		if yields && !g.waitForQuiet() {
			return
		}
		select {
		case <-g.stopped:
			return
		case <-g.ready:
		}
		job := g.next()
		if job == nil { // refused by stop meanwhile
			continue
		}
		start := time.Now()
		job.fn()
		g.finished(job)
		job.done <- nil
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

// errBusy answers a job when every place in the gate is taken by clients with no more than
// their share; errOverShare one from a client that already has its share waiting (Retry-After
// is set on both). Neither is a failure of the server: the error handler does not log them,
// and the gate logs a summary of refusals instead (refusalLog).
var (
	errBusy      = fiber.NewError(fiber.StatusServiceUnavailable, "Tally is busy right now. Please try again in a moment.")
	errOverShare = fiber.NewError(fiber.StatusTooManyRequests, "Too many sign-in attempts from your network at once. Please wait a moment and try again.")
)

// submit queues fn in client's line and returns where its outcome arrives: nil once fn ran,
// or a refusal if the job is pushed out while it waits. A job that gets no place is refused
// (after a wait if its client is over its share, see fairQueue).
func (g *hashGate) submit(client string, fn func()) (<-chan error, error) {
	job := &hashJob{fn: fn, done: make(chan error, 1)}
	pushedOut, err := g.add(client, job)
	if err != nil {
		g.refused.add(client)
		return nil, err
	}
	if pushedOut != nil {
		// The newcomer takes the pushed-out job's place and its token in ready.
		g.refused.add(pushedOut.client.key)
		pushedOut.done <- errOverShare
	} else {
		g.ready <- struct{}{} // never blocks: ready holds one token per waiting job, at most its capacity
	}
	return job.done, nil
}

// runHashJob queues fn in the line of the request's client (its network: clientNetwork) and
// waits for it, or answers the refusal.
func (h *Handlers) runHashJob(c *fiber.Ctx, fn func()) error {
	done, err := h.gate.submit(h.clientNetwork(c), fn)
	if err == nil {
		err = <-done
	}
	if err != nil {
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	return err
}

// refuseIfBusy answers before any other work for a request that will need a hash when the gate
// would not take a job from this client (after a wait if the client is over its share, see
// fairQueue), so shedding costs next to nothing.
func (h *Handlers) refuseIfBusy(c *fiber.Ctx) error {
	client := h.clientNetwork(c)
	if err := h.gate.admit(client); err != nil {
		h.gate.refused.add(client)
		c.Set(fiber.HeaderRetryAfter, "1")
		return err
	}
	return nil
}

// hashPassword hashes through the gate.
func (h *Handlers) hashPassword(c *fiber.Ctx, password string) (hash string, err error) {
	if gateErr := h.runHashJob(c, func() { hash, err = models.HashPassword(password, h.hash) }); gateErr != nil {
		return "", gateErr
	}
	return hash, err
}

// checkPassword compares through the gate.
func (h *Handlers) checkPassword(c *fiber.Ctx, u *models.User, password string) (ok bool, err error) {
	if gateErr := h.runHashJob(c, func() { ok, _, err = models.CheckPassword(password, u.PasswordHash, h.hash) }); gateErr != nil {
		return false, gateErr
	}
	if err == models.ErrInvalidHash {
		err = nil
	}
	return ok, err
}
