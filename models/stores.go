package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	pgstorage "github.com/gofiber/storage/postgres/v3"
	"github.com/gofiber/storage/sqlite3/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// SessionStorage is the key-value store the web sessions are kept in. Its methods are those of
// Fiber's storage interface, so the handlers hand it to Fiber's session store as it is, and
// models stays without Fiber.
type SessionStorage interface {
	Get(key string) ([]byte, error)
	Set(key string, val []byte, exp time.Duration) error
	Delete(key string) error
	Reset() error
	Close() error
}

const (
	// SessionsTable is the Postgres table of the sessions (created by schema version 4).
	SessionsTable = "tally_sessions"
	// SessionsFile is the SQLite file of the sessions, beside the database's own file.
	SessionsFile = "sessions.db"
	// sessionsMaxConns bounds the session storage's own Postgres pool. Most page views find
	// their session in the handlers' cache; a miss or a save holds a connection for one
	// statement.
	sessionsMaxConns = 4
)

// MigrateStores is schema version 4: the tables every instance shares besides the users' and
// the ledger's (the per-IP rate counters; on Postgres the sessions too) and, on Postgres, the
// triggers that tell the instances of a change to a session.
func MigrateStores(tx *gorm.DB) error {
	if err := tx.AutoMigrate(&RateCount{}); err != nil {
		return err
	}
	if !IsPostgres(tx) {
		return nil
	}
	if err := createStorageTable(tx, SessionsTable); err != nil {
		return err
	}
	return createNotifyTriggers(tx)
}

// OpenSessionStorage opens the sessions' store for db: on Postgres a table of the same database
// (so every instance sees every session), through a pool of its own of at most
// sessionsMaxConns connections; on SQLite the file sessions.db beside db's file.
func OpenSessionStorage(db *gorm.DB) (SessionStorage, error) {
	if IsPostgres(db) {
		return openPostgresSessions(db)
	}
	path, err := sqliteFile(db)
	if err != nil {
		return nil, err
	}
	return OpenSessionFile(filepath.Join(filepath.Dir(path), SessionsFile))
}

func openPostgresSessions(db *gorm.DB) (st SessionStorage, err error) {
	d, ok := db.Dialector.(*postgres.Dialector)
	if !ok || d.Config == nil || d.DSN == "" {
		return nil, fmt.Errorf("open %s: the database URL is unknown", SessionsTable)
	}
	// The table is made by the schema versions, under their lock: the storage's own
	// check-then-create fails when two instances start at once.
	if !db.Migrator().HasTable(SessionsTable) {
		return nil, fmt.Errorf("open %s: the table is missing (the schema is not up to date)", SessionsTable)
	}
	cfg, err := pgxpool.ParseConfig(d.DSN)
	if err != nil {
		return nil, fmt.Errorf("open %s: %s", SessionsTable, redactURL(d.DSN))
	}
	cfg.MaxConns = sessionsMaxConns
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.MaxConnLifetime = time.Hour
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", SessionsTable, err)
	}
	defer func() {
		// postgres.New panics instead of returning errors.
		if r := recover(); r != nil {
			pool.Close()
			err = fmt.Errorf("open %s: %v", SessionsTable, r)
		}
	}()
	return pgstorage.New(pgstorage.Config{DB: pool, Table: SessionsTable, GCInterval: 10 * time.Minute}), nil
}

// OpenSessionFile opens a SQLite file of sessions. It is a different file from the database
// on purpose: this driver links its own SQLite, and two SQLite libraries must never share a
// file. The storage's defaults are replaced: WAL instead of DELETE, and connections that live
// an hour instead of reconnecting every second.
func OpenSessionFile(path string) (st SessionStorage, err error) {
	defer func() {
		// sqlite3.New panics instead of returning errors.
		if r := recover(); r != nil {
			err = fmt.Errorf("open session storage %s: %v", path, r)
		}
	}()
	return sqlite3.New(sqlite3.Config{
		Database:        "file:" + path + "?_journal_mode=WAL&_secure_delete=on&_busy_timeout=5000&_txlock=immediate&_synchronous=NORMAL",
		Table:           "sessions",
		GCInterval:      10 * time.Minute,
		MaxOpenConns:    8,
		MaxIdleConns:    8,
		ConnMaxLifetime: time.Hour,
	}), nil
}

// sqliteFile is the path of db's main SQLite file.
func sqliteFile(db *gorm.DB) (string, error) {
	var path string
	if err := db.Raw("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&path).Error; err != nil {
		return "", err
	}
	if path == "" {
		return "", fmt.Errorf("the database has no file")
	}
	return path, nil
}

// DatabaseSize is the size of one part of the database: a file (SQLite) or the whole database
// (Postgres, named by its name).
type DatabaseSize struct {
	Name  string
	Bytes int64
}

// DatabaseSizes reports how much room the database takes: on SQLite the size of each of its
// files (the database, the sessions and their WALs) that exists; on Postgres
// pg_database_size of the current database, which holds the sessions too.
func DatabaseSizes(db *gorm.DB) ([]DatabaseSize, error) {
	if IsPostgres(db) {
		var row struct {
			Name  string
			Bytes int64
		}
		err := db.Raw("SELECT current_database() AS name, pg_database_size(current_database()) AS bytes").Scan(&row).Error
		if err != nil {
			return nil, err
		}
		return []DatabaseSize{{Name: row.Name, Bytes: row.Bytes}}, nil
	}
	path, err := sqliteFile(db)
	if err != nil {
		return nil, err
	}
	dir, name := filepath.Split(path)
	var sizes []DatabaseSize
	for _, f := range []string{name, name + "-wal", SessionsFile, SessionsFile + "-wal"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
			sizes = append(sizes, DatabaseSize{Name: f, Bytes: fi.Size()})
		}
	}
	return sizes, nil
}
