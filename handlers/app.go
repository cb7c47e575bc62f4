// Package handlers is Tally's HTTP layer: the Fiber app, its middleware, and one file per
// feature. It holds no SQL and no HTML: that is models' and views' work.
package handlers

import (
	"log/slog"
	"runtime"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"gorm.io/gorm"

	"tally/models"
)

// Deps is what the app is built from; main opens the databases, tests use temp dirs.
type Deps struct {
	Config   Config
	DB       *gorm.DB
	Sessions fiber.Storage
	// Limits keeps per-IP request counters, so a restart does not reset them.
	Limits fiber.Storage
	// Outbox is woken after a mail is queued; nil leaves queued mail for the next run.
	Outbox *Outbox
	Log    *slog.Logger
	// Now is the clock; tests move it to expire sessions and links without sleeping.
	Now  func() time.Time
	Hash models.HashParams
}

// Handlers holds the dependencies every feature's handlers share.
type Handlers struct {
	cfg      Config
	db       *gorm.DB
	sessions *session.Store
	log      *slog.Logger
	now      func() time.Time
	hash     models.HashParams
	tokens   models.Tokens
	outbox   *Outbox
	limits   fiber.Storage
	gate     *hashGate
	// sessionData is the session store's storage, with a cache of decoded sessions.
	sessionData *cachedStorage
	// sessionCache spares signed-in page views the session-and-user query.
	sessionCache *models.SessionCache
	// later runs work after its request was answered (see emailForm).
	later *laterQueue
}

// usersChanged follows a transaction that wrote users or sessions, with its error: it invalidates
// the session cache once the transaction has committed. The transaction's statements moved the
// cache's generation before the commit, so a page view in between may have cached the old row
// under the new generation (see models.SessionCache).
func (h *Handlers) usersChanged(err error) error {
	h.sessionCache.Invalidate()
	return err
}

// laterQueueSize bounds the work waiting to run after its answer: mail requests, each limited
// per client IP per hour, so a full queue means a flood from many networks.
const laterQueueSize = 256

// formBodyLimit caps url-encoded forms; the app-wide limit is larger for uploads.
const formBodyLimit = 64 << 10

// New builds the Fiber app with every route and middleware.
func New(d Deps) *fiber.App {
	app, _ := build(d)
	return app
}

func build(d Deps) (*fiber.App, *Handlers) {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC() }
	}
	if d.Hash == (models.HashParams{}) {
		d.Hash = models.DefaultHashParams
	}
	h := &Handlers{
		cfg: d.Config, db: d.DB, log: d.Log, now: d.Now, hash: d.Hash,
		sessionData:  newCachedStorage(d.Sessions, 10000),
		tokens:       models.Tokens{Secret: d.Config.Secret},
		outbox:       d.Outbox,
		limits:       d.Limits,
		gate:         newHashGate(runtime.GOMAXPROCS(0)),
		sessionCache: models.NewSessionCache(d.DB, 10000),
		later:        newLaterQueue(d.Log, laterQueueSize),
	}
	h.sessions = newSessionStore(d.Config, h.sessionData)
	app := fiber.New(fiber.Config{
		AppName:               "Tally",
		ErrorHandler:          h.handleError,
		BodyLimit:             appBodyLimit,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           90 * time.Second,
		ReadBufferSize:        16 << 10,
		DisableStartupMessage: true,
	})
	h.addRoutes(app)
	h.answerUnknownMethods(app)
	app.Hooks().OnShutdown(func() error { h.gate.stop(); h.later.stop(); return nil })
	return app, h
}
