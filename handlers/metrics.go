package handlers

import (
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tally/backup"
	"tally/models"
)

// metrics is the registry /metrics serves. A request costs one labelled counter increment and
// one histogram observation; everything else is read when Prometheus scrapes.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	lockouts prometheus.Counter
	serve    fiber.Handler
}

func newMetrics(h *Handlers) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_http_requests_total",
			Help: `Requests answered, by method, route pattern and status. Route "none" is a request answered before any route matched (unknown addresses, refused CSRF tokens).`,
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tally_http_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_logins_total",
			Help: "Sign-in attempts by form (route) and outcome: accepted (signed in, or on to the second factor), rejected (wrong credentials, locked, inactive), throttled (429), busy (503, the hash gate is full), error.",
		}, []string{"route", "outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tally_lockouts_total",
			Help: "Sign-in identities (an account or an unknown name) this instance locked out after too many failed sign-ins.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.logins, m.lockouts,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{h: h},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tally_hash_gate_queue",
			Help: "Password hashes waiting for a worker of the hash gate.",
		}, func() float64 { return float64(h.gate.queued()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tally_ready",
			Help: "1 when /readyz answers 200.",
		}, func() float64 { return boolFloat(h.ops.ready.notReady() == "") }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "tally_build_info",
			Help:        "Always 1; the labels say which Tally runs.",
			ConstLabels: prometheus.Labels{"version": h.ops.version.Version, "goversion": h.ops.version.Go},
		}, func() float64 { return 1 }),
	)
	if b := h.ops.backups; b != nil {
		reg.MustRegister(backupCollector{b: b, now: h.now})
	}
	m.serve = adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slogPrinter{h},
	}))
	return m
}

// statusLabels are the status codes as label values, made once.
var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// methodLabel is the method as a label value: a constant, as a label keeps its string and
// Fiber's request strings live in buffers that the next request reuses.
func methodLabel(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodOptions:
		return fiber.MethodOptions
	}
	return "other"
}

// loginRoutes are the routes whose POST is a sign-in attempt.
var loginRoutes = map[string]bool{"/login": true, "/login/again": true, "/login/2fa": true}

// countRequests is the first middleware: it sees every request routed, with its final status
// (logRequests, inside it, has answered any error).
func (h *Handlers) countRequests(c *fiber.Ctx) error {
	m := h.ops.metrics
	if m == nil {
		return c.Next()
	}
	start := time.Now()
	err := c.Next()
	status := c.Response().StatusCode()
	if err != nil {
		status = fiber.StatusInternalServerError
		if fe, ok := err.(*fiber.Error); ok {
			status = fe.Code
		}
	}
	if status < 0 || status >= len(statusLabels) {
		status = 0
	}
	// The route is the pattern ("/accounts/:id<int>"), never the path, so the labels stay few.
	// A request no route took ends in a middleware mounted on "/", the one pattern "/" that
	// matches another path than "/".
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "none"
	}
	method := methodLabel(c.Method())
	m.requests.WithLabelValues(method, route, statusLabels[status]).Inc()
	m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	if method == fiber.MethodPost && loginRoutes[route] {
		m.logins.WithLabelValues(route, loginOutcome(status)).Inc()
	}
	return err
}

// countLockout counts a lockout this instance made, when metrics are on.
func (h *Handlers) countLockout() {
	if m := h.ops.metrics; m != nil {
		m.lockouts.Inc()
	}
}

func loginOutcome(status int) string {
	switch {
	case status >= 200 && status < 400:
		return "accepted"
	case status == fiber.StatusUnprocessableEntity, status == fiber.StatusUnauthorized:
		return "rejected"
	case status == fiber.StatusTooManyRequests:
		return "throttled"
	case status == fiber.StatusServiceUnavailable:
		return "busy"
	}
	return "error"
}

// Metrics serves the metrics to clients on this machine, or to the bearer of
// TALLY_METRICS_TOKEN; to everyone else (and when TALLY_METRICS is off) there is nothing here.
func (h *Handlers) Metrics(c *fiber.Ctx) error {
	m := h.ops.metrics
	if m == nil || !h.mayScrape(c) {
		return fiber.ErrNotFound
	}
	return m.serve(c)
}

// mayScrape says whether the request carries the metrics token or comes from this machine.
// A request from this machine that a proxy forwarded (any forwarding header) is not one: a
// reverse proxy on the same host would otherwise publish the metrics.
func (h *Handlers) mayScrape(c *fiber.Ctx) bool {
	if tok := h.cfg.MetricsToken; tok != "" {
		got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			return true
		}
	}
	for _, hdr := range []string{fiber.HeaderXForwardedFor, fiber.HeaderForwarded, "X-Real-Ip"} {
		if c.Get(hdr) != "" {
			return false
		}
	}
	return c.Context().RemoteIP().IsLoopback()
}

// Readyz answers 200 when the server takes work: not while it starts, migrates or shuts down
// (503), and only while the database answers. /healthz stays the liveness check.
func (h *Handlers) Readyz(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	if why := h.ops.ready.notReady(); why != "" {
		return c.Status(fiber.StatusServiceUnavailable).SendString(why)
	}
	if err := models.Ping(h.db); err != nil {
		h.log.Error("readiness check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
	}
	return c.SendString("ready")
}

// Version is the running binary's version, for staff (it tells an attacker which bugs apply).
func (h *Handlers) Version(c *fiber.Ctx) error {
	return c.JSON(h.ops.version)
}

// queued is the number of jobs waiting in the gate.
func (q *fairQueue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// storeCollector reads the stores when Prometheus scrapes: sessions, sign-in locks, the
// outbox and the size of the database files.
type storeCollector struct{ h *Handlers }

var (
	descSessions = prometheus.NewDesc("tally_sessions", "Signed-in sessions.", nil, nil)
	descLocks    = prometheus.NewDesc("tally_login_locks", "Sign-in identities locked out now (too many failed sign-ins).", nil, nil)
	descMails    = prometheus.NewDesc("tally_mail_outbox", "Mails in the outbox by status: pending (queued, not yet sent), sent, failed (given up).", []string{"status"}, nil)
	descMailDue  = prometheus.NewDesc("tally_mail_oldest_due_seconds", "How long the oldest mail due for sending has waited (0: none is due).", nil, nil)
	descDBBytes  = prometheus.NewDesc("tally_database_bytes", "Size of the database: each SQLite file in the data dir, or the Postgres database (labelled with its name).", []string{"file"}, nil)
)

func (s *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessions, descLocks, descMails, descMailDue, descDBBytes} {
		ch <- d
	}
}

func (s *storeCollector) Collect(ch chan<- prometheus.Metric) {
	h := s.h
	now := h.now()
	gauge := func(d *prometheus.Desc, n int64, err error, labels ...string) {
		if err != nil {
			ch <- prometheus.NewInvalidMetric(d, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(n), labels...)
	}
	n, err := models.CountAuthSessions(h.db)
	gauge(descSessions, n, err)
	n, err = models.CountLoginLocks(h.db, now)
	gauge(descLocks, n, err)
	mails, err := models.CountEmailsByStatus(h.db)
	for _, status := range []string{models.MailPending, models.MailSent, models.MailFailed} {
		gauge(descMails, mails[status], err, status)
	}
	due, pending, err := models.NextEmailDue(h.db)
	var waited float64
	if pending && due.Before(now) {
		waited = now.Sub(due).Seconds()
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descMailDue, err)
	} else {
		ch <- prometheus.MustNewConstMetric(descMailDue, prometheus.GaugeValue, waited)
	}
	sizes, err := models.DatabaseSizes(h.db)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descDBBytes, err)
	}
	for _, size := range sizes {
		ch <- prometheus.MustNewConstMetric(descDBBytes, prometheus.GaugeValue, float64(size.Bytes), size.Name)
	}
}

// backupCollector reports the scheduled backups.
type backupCollector struct {
	b   *backup.Scheduler
	now func() time.Time
}

var (
	descBackupLast   = prometheus.NewDesc("tally_backup_last_success_timestamp_seconds", "When the newest verified backup was made (0: none yet).", nil, nil)
	descBackupAge    = prometheus.NewDesc("tally_backup_age_seconds", "Age of the newest verified backup (absent while there is none).", nil, nil)
	descBackupFailed = prometheus.NewDesc("tally_backup_last_failed", "1 when the latest backup attempt failed.", nil, nil)
)

func (b backupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBackupLast
	ch <- descBackupAge
	ch <- descBackupFailed
}

func (b backupCollector) Collect(ch chan<- prometheus.Metric) {
	st := b.b.Status()
	var last float64
	if !st.LastSuccess.IsZero() {
		last = float64(st.LastSuccess.Unix())
		ch <- prometheus.MustNewConstMetric(descBackupAge, prometheus.GaugeValue, b.now().Sub(st.LastSuccess).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descBackupLast, prometheus.GaugeValue, last)
	ch <- prometheus.MustNewConstMetric(descBackupFailed, prometheus.GaugeValue, boolFloat(st.Last.Err != nil))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// slogPrinter logs what promhttp reports (a collector's error) at ERROR.
type slogPrinter struct{ h *Handlers }

func (p slogPrinter) Println(v ...any) {
	p.h.log.Error("collecting metrics failed", "err", strings.TrimSpace(fmt.Sprintln(v...)))
}
