package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
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

// The known-device cookie marks a browser that has signed in to an account before. A lock
// caused by someone else's guessing does not apply to it (it counts its own failures), so an
// attacker cannot lock the owner out.
func (h *Handlers) deviceCookieName() string {
	if h.cfg.Prod {
		return "__Host-tally_device"
	}
	return "tally_device"
}

func (h *Handlers) deviceMAC(deviceID string, userID uint) string {
	mac := hmac.New(sha256.New, h.cfg.Secret)
	mac.Write([]byte("tally-device-v1\x00" + deviceID + "\x00" + strconv.FormatUint(uint64(userID), 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// knownDevice returns the device id when the request carries a valid cookie for u.
func (h *Handlers) knownDevice(c *fiber.Ctx, u *models.User) string {
	if u == nil {
		return ""
	}
	parts := strings.Split(c.Cookies(h.deviceCookieName()), ".")
	if len(parts) != 3 || parts[1] != strconv.FormatUint(uint64(u.ID), 10) ||
		!hmac.Equal([]byte(parts[2]), []byte(h.deviceMAC(parts[0], u.ID))) {
		return ""
	}
	return strings.Clone(parts[0])
}

func (h *Handlers) setKnownDevice(c *fiber.Ctx, u *models.User, deviceID string) {
	if deviceID == "" {
		deviceID = randomToken(16)
	}
	c.Cookie(&fiber.Cookie{
		Name: h.deviceCookieName(), Value: deviceID + "." + strconv.FormatUint(uint64(u.ID), 10) + "." + h.deviceMAC(deviceID, u.ID),
		Path: "/", MaxAge: 400 * 24 * 3600, Expires: h.now().Add(400 * 24 * time.Hour),
		Secure: h.cfg.Prod, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// loginGuard is what throttling decided about one login attempt.
type loginGuard struct {
	ip, identity, failKey string
	user                  *models.User
	device                string
}

var errLocked = "Too many failed attempts. Logging in to this account is paused for a while; try again later or reset your password."

// guardLogin refuses an IP over its failure limit (429) and reports a locked identity (or
// device). The answer never depends on whether the account exists.
func (h *Handlers) guardLogin(c *fiber.Ctx, login string) (*loginGuard, bool, error) {
	now := h.now()
	g := &loginGuard{ip: "ip:" + h.clientNetwork(c)}
	n, err := models.CountLoginFailures(h.db, g.ip, now.Add(-h.cfg.LockoutWindow))
	if err != nil {
		return nil, false, err
	}
	if n >= int64(h.cfg.IPLoginLimit) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(h.cfg.LockoutWindow.Seconds())))
		return nil, false, fiber.NewError(fiber.StatusTooManyRequests,
			"Too many failed logins from your network. Please wait 15 minutes and try again.")
	}
	if g.identity, g.user, err = models.IdentityKey(h.db, login); err != nil {
		return nil, false, err
	}
	g.failKey = g.identity
	if g.device = h.knownDevice(c, g.user); g.device != "" {
		g.failKey = "device:" + g.device
	}
	until, err := models.LockedUntil(h.db, g.failKey, now)
	return g, !until.IsZero(), err
}

// recordFailure commits one wrong password at now: a failure row under key and each of more
// and, for an existing account (u not nil), its "failed sign-in" event. They are one commit, so
// a wrong password for a real account waits for the disk as often as one for a name without an
// account: a second commit's fsync would tell them apart by timing. It returns key's failures
// within the lockout window, this one included.
func (h *Handlers) recordFailure(c *fiber.Ctx, now time.Time, u *models.User, detail, key string, more ...string) (int64, error) {
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.RecordLoginFailure(tx, now, append([]string{key}, more...)...); err != nil || u == nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventLoginFailure, detail, nil)
	})
	if err != nil {
		return 0, err
	}
	return models.CountLoginFailures(h.db, key, now.Add(-h.cfg.LockoutWindow))
}

// loginFailed counts a failure and locks the identity (or device) at the threshold, from the
// failure's time; the owner of an account locked by failures from unknown devices gets one
// mail per lock.
func (h *Handlers) loginFailed(c *fiber.Ctx, g *loginGuard) error {
	now := h.now()
	n, err := h.recordFailure(c, now, g.user, "", g.failKey, g.ip)
	if err != nil || n < int64(h.cfg.LockoutThreshold) {
		return err
	}
	locked, err := models.Lock(h.db, g.failKey, now, now.Add(h.cfg.LockoutDuration))
	if err != nil || !locked || g.user == nil {
		return err
	}
	if err := h.recordEvent(c, h.db, g.user.ID, models.EventLockout, "", nil); err != nil {
		return err
	}
	if g.device != "" {
		return nil
	}
	m := views.LockoutMail(g.user.FirstName, h.cfg.AbsURL("/password/forgot"), h.cfg.LockoutDuration)
	if err := h.queueMail(c.UserContext(), h.db, g.user, g.user.Email, models.MailLockout, m); err != nil {
		return err
	}
	h.outbox.Wake()
	return nil
}

// loginSucceeded clears the counters and marks the browser as a known device.
func (h *Handlers) loginSucceeded(c *fiber.Ctx, tx *gorm.DB, g *loginGuard, u *models.User) error {
	if err := models.ClearKey(tx, models.UserKey(u)); err != nil {
		return err
	}
	if g.device != "" {
		if err := models.ClearKey(tx, "device:"+g.device); err != nil {
			return err
		}
	}
	h.setKnownDevice(c, u, g.device)
	return h.recordEvent(c, tx, u.ID, models.EventLoginSuccess, "", nil)
}
