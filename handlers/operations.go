package handlers

import (
	"context"
	"log/slog"
	"sync/atomic"

	"tally/backup"
	"tally/buildinfo"
	"tally/config"
	"tally/models"
)

// operations is what the operator has of a running server: the first-run setup link,
// readiness, the metrics and the backups.
type operations struct {
	// setup is the one-time link that creates the first superuser; nil when one existed at
	// start.
	setup   *setupLink
	ready   readiness
	metrics *metrics          // nil unless TALLY_METRICS=1
	backups *backup.Scheduler // nil without TALLY_BACKUP_DIR
	version buildinfo.Info
}

// holdDataDir takes the server's hold on the data dir (backup.HoldDataDir): `tally restore`
// refuses while it is held, and a server does not start while a restore runs.
func (s *Server) holdDataDir(cfg config.Config) error {
	lock, err := backup.HoldDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	s.close = append(s.close, lock.Release)
	return nil
}

// startOperations sets up the setup link, the metrics and the scheduled backups once the app
// is built.
func (s *Server) startOperations(cfg config.Config, log *slog.Logger) error {
	h := s.h
	ops := &operations{version: buildinfo.Read()}
	h.ops = ops
	hasSuperuser, err := models.HasSuperuser(s.DB)
	if err != nil {
		return err
	}
	if !hasSuperuser {
		ops.setup = newSetupLink()
	}
	if cfg.BackupDir != "" && cfg.DatabaseURL != "" {
		// The scheduled backup copies SQLite files; a Postgres database is backed up by its own tools.
		log.Warn("scheduled backups are off on Postgres: TALLY_BACKUP_DIR is ignored; back the database up with pg_dump")
	} else if cfg.BackupDir != "" {
		ops.backups = backup.NewScheduler(backup.Schedule{Dir: cfg.BackupDir, At: cfg.BackupAt, Keep: cfg.BackupKeep},
			backup.Source{DataDir: cfg.DataDir, DB: s.DB, Version: ops.version.Version, Now: h.now}, log)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			ops.backups.Loop(ctx)
		}()
		// Closing waits for a backup being made: it holds the database.
		s.close = append(s.close, func() error { stop(); <-done; return nil })
	}
	if cfg.Metrics {
		ops.metrics = newMetrics(h)
	}
	return nil
}

// SetupLink is the link that creates the first superuser, or "" when there is none (a
// superuser existed at start, or the link was used).
func (s *Server) SetupLink() string {
	if s.h == nil || s.h.ops == nil {
		return ""
	}
	tok := s.h.ops.setup.current()
	if tok == "" {
		return ""
	}
	return s.h.cfg.AbsURL("/setup?token=" + tok)
}

// Draining marks the server as shutting down: /readyz answers 503 from now on, so a proxy
// or orchestrator that asks stops sending requests while the last ones finish.
func (s *Server) Draining() { s.h.ops.ready.stopping.Store(true) }

// ReadyMigrating is /readyz's answer (with 503) while a start opens the database and brings
// its schema up to date, before the app serves (main answers for it then).
const ReadyMigrating = "migrating"

// readiness is what /readyz answers. The app serves only once Open has returned, ready, so
// the one state to tell is a shutdown (while a start opens the database, main answers).
type readiness struct{ stopping atomic.Bool }

// notReady is why the server is not ready, or "" when it is.
func (r *readiness) notReady() string {
	if r.stopping.Load() {
		return "shutting down"
	}
	return ""
}
