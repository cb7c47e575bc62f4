// Package handlers is Tally's HTTP layer: the Fiber app, its middleware, and one file per
// feature. It holds no SQL and no HTML: that is models' and views' work.
package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"gorm.io/gorm"

	"tally/config"
	"tally/mail"
	"tally/models"
	"tally/models/ledger"
	"tally/models/schema"
)

// Options are what tests and the benchmark change; the zero value is production.
type Options struct {
	// Now is the clock; tests move it to expire sessions and links without sleeping.
	Now  func() time.Time
	Hash models.HashParams
	// Stdout gets each mail as a readable block when no SMTP server is configured in dev.
	Stdout io.Writer
}

// Server is Tally's stores, mail worker and app. main, the handler tests, the e2e harness and
// the benchmark all get theirs from Open, so a new store or a database switch is made once.
type Server struct {
	App    *fiber.App
	DB     *gorm.DB
	Outbox *mail.Outbox
	h      *Handlers
	// close releases what Open opened, in reverse order.
	close []func() error
	// stopWork ends the outbox worker; workDone is closed once it has.
	stopWork context.CancelFunc
	workDone chan struct{}
}

// OpenDatabase opens the database (cfg.DatabaseURL, or else the data dir's tally.db) and brings
// its schema up to date. The command line uses it without the rest of the server.
func OpenDatabase(cfg config.Config, log *slog.Logger) (*gorm.DB, error) {
	db, err := models.Open(DatabaseTarget(cfg), log)
	if err != nil {
		return nil, err
	}
	if _, err := schema.Up(context.Background(), db, cfg.DataDir, log); err != nil {
		_ = models.Close(db)
		return nil, err
	}
	return db, nil
}

// DatabaseTarget is what models.Open opens for cfg: the Postgres URL when there is one, the data
// dir's tally.db otherwise.
func DatabaseTarget(cfg config.Config) string {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL
	}
	return filepath.Join(cfg.DataDir, "tally.db")
}

// Open opens the databases in cfg.DataDir (which must exist, with cfg.Secret loaded), starts
// the outbox worker and builds the app. Close undoes it.
func Open(cfg config.Config, log *slog.Logger, o Options) (_ *Server, err error) {
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	if o.Hash == (models.HashParams{}) {
		o.Hash = models.DefaultHashParams
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	s := &Server{}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if err := s.holdDataDir(cfg); err != nil {
		return nil, err
	}
	if s.DB, err = OpenDatabase(cfg, log); err != nil {
		return nil, err
	}
	s.close = append(s.close, func() error { return models.Close(s.DB) })
	if err := prune(s.DB, o.Now()); err != nil {
		return nil, err
	}
	sessions, err := models.OpenSessionStorage(s.DB)
	if err != nil {
		return nil, err
	}
	s.close = append(s.close, sessions.Close)
	sender, err := mail.New(cfg, log, o.Stdout)
	if err != nil {
		return nil, err
	}
	s.Outbox = mail.NewOutbox(s.DB, sender, log, o.Now)
	ctx, stop := context.WithCancel(context.Background())
	s.stopWork, s.workDone = stop, make(chan struct{})
	go func() {
		defer close(s.workDone)
		s.Outbox.Run(ctx)
	}()
	s.App, s.h = build(cfg, s.DB, sessions, s.Outbox, log, o)
	// Other instances on the same Postgres database: their changes reach this one's caches.
	peers, err := models.ListenPeers(s.DB, log)
	if err != nil {
		return nil, err
	}
	s.close = append(s.close, peers.Close)
	s.h.followPeers(peers)
	if s.h.rates, err = models.OpenRateLimits(s.DB, o.Now()); err != nil {
		return nil, err
	}
	if err := s.startOperations(cfg, log); err != nil {
		return nil, err
	}
	return s, nil
}

// StopOutbox ends the mail worker and waits for it; queued mail stays queued.
func (s *Server) StopOutbox() {
	if s.stopWork == nil {
		return
	}
	s.stopWork()
	<-s.workDone
}

// Close stops the mail worker and the app's background work and closes the stores. The app
// must no longer be serving.
func (s *Server) Close() error {
	s.StopOutbox()
	if s.h != nil {
		s.h.stop()
	}
	var errs []error
	for i := len(s.close) - 1; i >= 0; i-- {
		errs = append(errs, s.close[i]())
	}
	s.close = nil
	return errors.Join(errs...)
}

// Handlers holds the dependencies every feature's handlers share.
type Handlers struct {
	cfg      config.Config
	db       *gorm.DB
	sessions *session.Store
	log      *slog.Logger
	now      func() time.Time
	hash     models.HashParams
	tokens   models.Tokens
	outbox   *mail.Outbox
	rates    *models.RateLimits // per-IP counts of limitIP
	gate     *hashGate
	// sessionData is the session store's storage, with a cache of decoded sessions.
	sessionData *cachedStorage
	// sessionCache spares signed-in page views the session-and-user query.
	sessionCache *models.SessionCache
	// later runs work after its request was answered (see emailForm).
	later *laterQueue
	// ops: the setup link, readiness, metrics and backups (operations.go).
	ops *operations
	// ledgerCache spares ledger pages the reads and rendering that no write has changed.
	ledgerCache *ledgerCache
	// passkeys is the WebAuthn relying party of TALLY_BASE_URL (passkeys.go).
	passkeys *passkeyRP
}

// laterQueueSize bounds the work waiting to run after its answer: mail requests, each limited
// per client IP per hour, so a full queue means a flood from many networks.
const laterQueueSize = 256

// formBodyLimit caps url-encoded forms; the app-wide limit is larger for uploads.
const formBodyLimit = 64 << 10

func build(cfg config.Config, db *gorm.DB, sessions fiber.Storage, outbox *mail.Outbox, log *slog.Logger, o Options) (*fiber.App, *Handlers) {
	h := &Handlers{
		cfg: cfg, db: db, log: log, now: o.Now, hash: o.Hash,
		sessionData:  newCachedStorage(sessions, 10000),
		tokens:       models.Tokens{Secret: cfg.Secret},
		outbox:       outbox,
		gate:         newHashGate(runtime.GOMAXPROCS(0), log),
		sessionCache: models.NewSessionCache(db, 10000),
		later:        newLaterQueue(log, laterQueueSize),
		ledgerCache:  newLedgerCache(ledgerCacheUsers, ledgerPageBytes),
		passkeys:     newPasskeyRP(cfg, log),
	}
	h.sessions = newSessionStore(cfg, h.sessionData)
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
	return app, h
}

// stop ends the hash gate and the after-answer queue.
func (h *Handlers) stop() { h.gate.stop(); h.later.stop() }

// prune drops at start what has outlived its use: login failures a day old count against
// nobody; deleted transactions past their undo window and imports staged but never confirmed
// are otherwise dropped only at their owner's next delete or upload, which may never come.
func prune(db *gorm.DB, now time.Time) error {
	return errors.Join(
		models.PruneLoginFailures(db, now.Add(-24*time.Hour)),
		ledger.PurgeDeleted(db, now.Add(-ledger.UndoWindow)),
		ledger.PurgeStagedImports(db, now.Add(-ledger.StagedTTL)),
	)
}
