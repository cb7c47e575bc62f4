package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Migration is one version of the schema. Up runs once per database, in a transaction with the
// row that records it, so a version is either applied and recorded or neither.
//
// On SQLite, PRAGMA foreign_keys cannot change inside a transaction: a version that must
// rebuild a table other tables point to (GORM's AlterColumn on SQLite does) has to copy the
// rows itself, or the cascade of the old table's drop reaches them.
type Migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// SchemaMigration is a row of schema_migrations: one applied version.
type SchemaMigration struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"not null"`
	AppliedAt time.Time `gorm:"not null"`
}

func (SchemaMigration) TableName() string { return "schema_migrations" }

// NewerSchemaError is a database migrated by a newer Tally than the one starting: its tables
// may mean what this binary cannot know, so it is not opened.
type NewerSchemaError struct {
	Database, Binary int
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("the database is at schema version %d, but this Tally knows versions up to %d: "+
		"run the newer Tally that migrated it, or restore a backup made before that upgrade", e.Database, e.Binary)
}

// MigrateOptions are what RunMigrations needs beside the database.
type MigrateOptions struct {
	// BeforeUpgrade runs once when a database that already holds Tally's tables has versions
	// to apply, before the first of them: the place for a backup. An error stops the upgrade.
	// It is not called for an empty database.
	BeforeUpgrade func(ctx context.Context, db *gorm.DB, from, to int) error
	Log           *slog.Logger
}

// MigrateResult is what RunMigrations found and did.
type MigrateResult struct {
	// From is the version the database was at (0: never versioned), To the version it is at.
	From, To int
	Applied  []Migration
	// Upgrade says the database held Tally's tables before (not a fresh install).
	Upgrade bool
}

// migrationLock is the key of the Postgres advisory lock the migrating instance holds; the
// others wait on it ("tally" in ASCII).
const migrationLock = 0x74616c6c79

// RunMigrations brings db to the last version of list (ascending, from 1) and records each
// version it applies in schema_migrations. A database with nothing pending costs one query. A
// database newer than list is refused with a *NewerSchemaError. Instances that start together
// end correct: on Postgres one migrates under an advisory lock and the others wait, then find
// nothing pending; on SQLite each version's transaction is immediate, so writers queue, and
// each checks inside it whether another applied the version meanwhile.
//
// A database with Tally's tables but no schema_migrations (made before versions) is at 0:
// version 1, the baseline, is idempotent and records it without changing it.
func RunMigrations(ctx context.Context, db *gorm.DB, list []Migration, o MigrateOptions) (MigrateResult, error) {
	if err := checkMigrations(list); err != nil {
		return MigrateResult{}, err
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	from, err := SchemaVersion(db.WithContext(ctx))
	if err != nil {
		return MigrateResult{}, err
	}
	if done, err := upToDate(from, list); done || err != nil {
		return MigrateResult{From: from, To: from}, err
	}
	if IsPostgres(db) {
		return migrateLocked(ctx, db, list, o)
	}
	return migrate(ctx, db, list, o, from)
}

// upToDate says whether a database at version from has nothing of list to apply, and refuses
// one newer than list.
func upToDate(from int, list []Migration) (bool, error) {
	latest := list[len(list)-1].Version
	if from > latest {
		return true, &NewerSchemaError{Database: from, Binary: latest}
	}
	return from == latest, nil
}

// migrateLocked runs migrate on one connection holding the advisory lock (a session lock: it
// belongs to the connection, which is why everything runs on it).
func migrateLocked(ctx context.Context, db *gorm.DB, list []Migration, o MigrateOptions) (MigrateResult, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return MigrateResult{}, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return MigrateResult{}, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return MigrateResult{}, fmt.Errorf("wait for the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", migrationLock); err != nil {
			// Closing the connection is what releases the lock then.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	on := db.Session(&gorm.Session{NewDB: true, Context: ctx})
	on.Statement.ConnPool = conn
	// Read again under the lock: another instance may have migrated while this one waited.
	from, err := SchemaVersion(on)
	if err != nil {
		return MigrateResult{}, err
	}
	if done, err := upToDate(from, list); done || err != nil {
		return MigrateResult{From: from, To: from}, err
	}
	return migrate(ctx, on, list, o, from)
}

// migrate applies the versions of list after from, each in its own transaction that first
// reads the version again.
func migrate(ctx context.Context, db *gorm.DB, list []Migration, o MigrateOptions, from int) (MigrateResult, error) {
	latest := list[len(list)-1].Version
	res := MigrateResult{From: from, To: from}
	// users is the first table Tally ever created.
	res.Upgrade = db.Migrator().HasTable(&User{})
	if res.Upgrade && o.BeforeUpgrade != nil {
		if err := o.BeforeUpgrade(ctx, db, from, latest); err != nil {
			return res, err
		}
	}
	for _, m := range list {
		if m.Version <= from {
			continue
		}
		applied := false
		start := time.Now()
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := ensureMigrationsTable(tx); err != nil {
				return err
			}
			v, err := SchemaVersion(tx)
			if err != nil || v >= m.Version {
				return err
			}
			if err := m.Up(tx); err != nil {
				return err
			}
			applied = true
			return tx.Create(&SchemaMigration{Version: m.Version, Name: m.Name, AppliedAt: time.Now().UTC()}).Error
		})
		if err != nil {
			return res, fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		res.To = m.Version
		if applied {
			res.Applied = append(res.Applied, m)
			o.Log.Info("applied schema migration", "version", m.Version, "name", m.Name, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	return res, nil
}

// SchemaVersion is the highest version recorded in schema_migrations, 0 when the table does not
// exist or is empty: one query when it exists.
func SchemaVersion(db *gorm.DB) (int, error) {
	var v sql.NullInt64
	// Quiet: a missing table is an answer here, not a warning for the log.
	err := db.Session(&gorm.Session{Logger: logger.Discard}).
		Raw("SELECT max(version) FROM schema_migrations").Scan(&v).Error
	if err != nil {
		if !db.Migrator().HasTable(&SchemaMigration{}) {
			return 0, nil
		}
		// Another instance created the table between the query and the look: read it again.
		if err := db.Raw("SELECT max(version) FROM schema_migrations").Scan(&v).Error; err != nil {
			return 0, err
		}
	}
	return int(v.Int64), nil
}

// ensureMigrationsTable creates schema_migrations when it is missing.
func ensureMigrationsTable(tx *gorm.DB) error {
	if tx.Migrator().HasTable(&SchemaMigration{}) {
		return nil
	}
	return tx.Migrator().CreateTable(&SchemaMigration{})
}

// checkMigrations refuses a list that is empty or not in ascending order from 1.
func checkMigrations(list []Migration) error {
	if len(list) == 0 {
		return errors.New("no migrations")
	}
	for i, m := range list {
		if m.Version != i+1 || m.Up == nil || m.Name == "" {
			return fmt.Errorf("migration %d (%q) is out of order or incomplete: versions run 1, 2, 3, … each with a name and Up", m.Version, m.Name)
		}
	}
	return nil
}
