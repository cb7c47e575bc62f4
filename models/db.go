package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/logger"
	"gorm.io/plugin/dbresolver"
)

// Errors the handlers map to responses; they never carry SQL or values.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
)

// Open opens the money database with the pragmas that make concurrent use safe: WAL, a busy
// timeout, foreign keys, synchronous=FULL (a committed write survives power loss; the one
// exception is a sign-in's bookkeeping, see TransactionWithoutSync) and immediate transactions,
// so two writers queue instead of failing with "database is locked".
//
// Writes (every transaction, create, update, delete and raw statement) go through one
// connection and reads through a pool of 16 (GORM's dbresolver). SQLite runs one writer at a
// time anyway, and writers that collide wait in SQLite's busy handler, which sleeps inside a
// system call: the Go scheduler's P stays with the sleeping thread, so under a login load a
// CPU sat idle beside queued password hashes (an execution trace showed 104 ms of busy-handler
// sleep in 1.5 s). Queued in database/sql instead, a waiting writer only parks a goroutine.
// The busy timeout still covers other processes (the command line).
//
// A target that is a postgres:// or postgresql:// URL opens Postgres instead (see openPostgres).
func Open(target string, log *slog.Logger) (*gorm.DB, error) {
	if isPostgresURL(target) {
		return openPostgres(target, log)
	}
	return openSQLite(target, log)
}

func openSQLite(path string, log *slog.Logger) (*gorm.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(1)", "secure_delete(ON)", "synchronous(" + durableSync + ")"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	db, err := gorm.Open(sqlite.Open(dsn), gormConfig(log, func() time.Time { return time.Now().UTC() }))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if err := insertWithoutReturning(db); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// Readers run in parallel under WAL, all connections kept open (GORM's default keeps 2 idle
	// and reconnects). The resolver's setters reach every pool, so the writer's come after.
	resolver := dbresolver.Register(dbresolver.Config{Replicas: []gorm.Dialector{sqlite.Open(dsn)}})
	if err := db.Use(resolver); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	resolver.SetMaxOpenConns(16).SetMaxIdleConns(16).SetConnMaxIdleTime(time.Hour)
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	if err := sqlDB.Ping(); err != nil {
		_ = Close(db)
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// gormConfig is what both databases share: duplicate keys as gorm.ErrDuplicatedKey and a
// logger that never prints bound values.
func gormConfig(log *slog.Logger, now func() time.Time) *gorm.Config {
	return &gorm.Config{
		TranslateError: true,
		// The default logger prints bound values on errors, password hashes included. (GORM's
		// slog logger formats every statement even when it logs nothing: this one does not.)
		Logger: logger.New(slogWriter{log}, logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
		NowFunc: now,
	}
}

// insertWithoutReturning makes GORM read a new row's id from SQLite's last insert rowid
// instead of INSERT … RETURNING (no model has other database defaults to read back). SQLite
// collects RETURNING rows in a temporary table, and that table's page cache made the
// pure-Go SQLite's allocator map and unmap memory on every insert: four system calls, and each
// unmap interrupts the process's other threads (the hashing ones) to flush their address
// translations. A sign-in's insert of its "Signed in" event cost 3 to 5 points of the login
// benchmark's ratio to the hash limit that way.
func insertWithoutReturning(db *gorm.DB) error {
	return db.Callback().Create().Replace("gorm:create", callbacks.Create(&callbacks.Config{
		CreateClauses:        []string{"INSERT", "VALUES", "ON CONFLICT"},
		LastInsertIDReversed: true,
	}))
}

// durableSync is the synchronous setting of every connection, and what TransactionWithoutSync
// restores.
const durableSync = "FULL"

// Transaction is the one way Tally runs a transaction: fn runs in it, and once it has committed
// the session cache forgets what fn changed in users or sessions (see SessionCache), so no
// caller has to remember to.
func Transaction(db *gorm.DB, fn func(tx *gorm.DB) error) error {
	w, ctx := watchWrites(db)
	err := db.WithContext(ctx).Transaction(fn)
	w.done(db)
	return err
}

// TransactionWithoutSync is Transaction with a commit that does not wait for the disk
// (synchronous=NORMAL for that commit; every other commit stays FULL). It is for bookkeeping
// whose loss in a power cut costs nothing that matters, the writes of a successful sign-in: at
// worst the user signs in again and one "Signed in" event is missing. It is never a way to lose
// money data, a password or a revocation. SQLite's WAL keeps commits in order, so the next
// synced commit (or checkpoint) makes this one durable too, and a crash of the process alone
// loses nothing. The fsync it saves kept a hashing worker waiting on a login (numbers in
// docs/performance.md).
//
// It holds the one writer connection for its duration, so the setting cannot leak into another
// transaction; a connection whose FULL setting cannot be restored is discarded.
//
// On Postgres the same promise is synchronous_commit = off for that one transaction (SET LOCAL):
// the commit returns before its WAL is flushed, and the server keeps commits in order.
func TransactionWithoutSync(db *gorm.DB, fn func(tx *gorm.DB) error) (err error) {
	if IsPostgres(db) {
		return Transaction(db, func(tx *gorm.DB) error {
			// Not a write to users or sessions: the session cache need not hear of it.
			if err := tx.Set(skipInvalidation, true).Exec("SET LOCAL synchronous_commit = off").Error; err != nil {
				return err
			}
			return fn(tx)
		})
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	w, ctx := watchWrites(db)
	defer w.done(db)
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Straight on the connection: through GORM the resolver would route these statements to the
	// writer pool, whose only connection this is.
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return err
	}
	defer func() {
		if _, restoreErr := conn.ExecContext(context.Background(), "PRAGMA synchronous = "+durableSync); restoreErr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, restoreErr)
		}
	}()
	tx := db.Session(&gorm.Session{NewDB: true, Context: ctx})
	tx.Statement.ConnPool = conn
	return tx.Transaction(fn)
}

// Migrate creates the users' tables as schema version 1 (the baseline, models/schema) left them.
func Migrate(db *gorm.DB) error {
	if err := db.AutoMigrate(&User{}, &AuthSession{}, &Email{}, &SecurityEvent{}, &LoginFailure{}, &LoginLock{},
		&Profile{}, &Avatar{}, &TwoFactorSecret{}, &RecoveryCode{}); err != nil {
		return err
	}
	return migrateUserListIndexes(db)
}

// Close closes the connection pools: the resolver reaches the writer's and the readers'.
func Close(db *gorm.DB) error {
	if r, ok := db.Config.Plugins[(&dbresolver.DBResolver{}).Name()].(*dbresolver.DBResolver); ok {
		return r.Call(func(p gorm.ConnPool) error {
			if c, ok := p.(io.Closer); ok {
				return c.Close()
			}
			return nil
		})
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping reports whether the database answers.
func Ping(db *gorm.DB) error {
	return db.Exec("SELECT 1").Error
}

// slogWriter passes GORM's warnings and errors to the structured log.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Printf(format string, args ...any) {
	w.log.Warn("database", "detail", fmt.Sprintf(format, args...))
}
