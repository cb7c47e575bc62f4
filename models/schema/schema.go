// Package schema is Tally's schema history, the users' tables and the ledger's in one list of
// versions, and how a database is brought to the last of them: after a backup when it is a
// data dir's file with data in it.
package schema

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"gorm.io/gorm"

	"tally/backup"
	"tally/buildinfo"
	"tally/models"
	"tally/models/ledger"
)

// Migrations lists every version of the schema, in order; models.RunMigrations applies those a
// database lacks. A change to the tables is a new entry at the end, never an edit of an entry a
// release has shipped: databases that recorded a version never run it again.
func Migrations(log *slog.Logger) []models.Migration {
	return []models.Migration{
		// The tables as they were when versions began; it also records a database made before
		// then, unchanged (every step is idempotent).
		{Version: 1, Name: "baseline", Up: func(tx *gorm.DB) error {
			if err := models.Migrate(tx); err != nil {
				return err
			}
			if err := ledger.Migrate(tx); err != nil {
				return err
			}
			_, err := models.MigrateUsers(tx, log)
			return err
		}},
		{Version: 2, Name: "passkeys", Up: models.MigratePasskeys},
		{Version: 3, Name: "passkey challenges", Up: models.MigratePasskeyChallenges},
		{Version: 4, Name: "rate counters, sessions table and notify triggers", Up: models.MigrateStores},
		{Version: 5, Name: "ledger version notify trigger", Up: ledger.MigrateVersionNotify},
	}
}

// Result is what Up found and did.
type Result struct {
	models.MigrateResult
	// Backup is the file the data was saved to before the upgrade ("" when none was made).
	Backup string
}

// Up brings db to the last version of Migrations. dataDir is the data dir whose tally.db db is:
// before an existing SQLite database is upgraded, a backup is written into its backups dir
// (BackupName). A Postgres database is the operator's to back up (pg_dump): Up only says so.
func Up(ctx context.Context, db *gorm.DB, dataDir string, log *slog.Logger) (Result, error) {
	return up(ctx, db, dataDir, log, Migrations(log))
}

// up is Up with its list of migrations, which tests lengthen to play a newer binary.
func up(ctx context.Context, db *gorm.DB, dataDir string, log *slog.Logger, list []models.Migration) (Result, error) {
	var r Result
	var err error
	r.MigrateResult, err = models.RunMigrations(ctx, db, list, models.MigrateOptions{
		Log: log,
		BeforeUpgrade: func(ctx context.Context, db *gorm.DB, from, to int) error {
			if models.IsPostgres(db) {
				log.Warn("upgrading the database schema without a backup: on Postgres, take one with pg_dump before upgrading",
					"from", from, "to", to)
				return nil
			}
			r.Backup, err = backupBefore(ctx, db, dataDir, from, to)
			if err != nil {
				return fmt.Errorf("the backup before upgrading the schema failed, nothing was changed: %w", err)
			}
			if r.Backup == "" {
				log.Info("another process upgraded the schema meanwhile and made the backup", "from", from, "to", to)
				return nil
			}
			log.Info("backed up the data before upgrading the schema", "from", from, "to", to, "file", r.Backup)
			return nil
		},
	})
	return r, err
}

// backupBefore writes a backup of dataDir into its backups dir and returns the file's path.
// Another process may upgrade the same data dir meanwhile: each writes its own file (the name
// has nanoseconds), and a backup made after another process applied a version holds that
// version's data, so it is deleted: the other process's backup, made first, is the one.
func backupBefore(ctx context.Context, db *gorm.DB, dataDir string, from, to int) (string, error) {
	now := time.Now().UTC()
	dest := filepath.Join(dataDir, "backups", BackupName(from, to, now))
	src := backup.Source{DataDir: dataDir, DB: db, Version: buildinfo.Read().Version, Now: func() time.Time { return now }}
	if _, err := backup.Create(ctx, src, dest); err != nil {
		return "", err
	}
	if v, err := models.SchemaVersion(db); err != nil || v != from {
		return "", errors.Join(err, os.Remove(dest))
	}
	return dest, nil
}

// BackupName is the name of the backup made at t before an upgrade from one version to
// another: pre-migrate-v1-to-v2-20261123T033000.123456789Z.tar.gz.
func BackupName(from, to int, t time.Time) string {
	return fmt.Sprintf("pre-migrate-v%d-to-v%d-%s.tar.gz", from, to, t.UTC().Format("20060102T150405.000000000Z"))
}
