package models

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// This file is where SQLite and Postgres differ: how a database is opened and pooled, and the
// few pieces of SQL that are spelt differently. Packages above models never ask which database
// they run on.

// IsPostgres reports whether db is a Postgres database (otherwise it is SQLite).
func IsPostgres(db *gorm.DB) bool {
	return db.Dialector.Name() == "postgres"
}

func isPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Postgres pool: enough connections for parallel page views and sign-ins in one instance, few
// enough that several instances stay under the server's default max_connections (100).
const (
	postgresMaxOpen = 20
	postgresMaxIdle = 10
)

// openPostgres opens a Postgres database through pgx. Times are written in UTC and cut to
// microseconds, the precision Postgres keeps, so a time read back equals the one written; they
// are read back in UTC too, as from SQLite, whatever the machine's time zone.
func openPostgres(target string, log *slog.Logger) (*gorm.DB, error) {
	name := redactURL(target)
	cfg, err := pgx.ParseConfig(target)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	sqlDB := stdlib.OpenDB(*cfg, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
		c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
		return nil
	}))
	db, err := gorm.Open(postgres.New(postgres.Config{DSN: target, Conn: sqlDB}), gormConfig(log, func() time.Time {
		return time.Now().UTC().Truncate(time.Microsecond)
	}))
	if err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	sqlDB.SetMaxOpenConns(postgresMaxOpen)
	sqlDB.SetMaxIdleConns(postgresMaxIdle)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(time.Hour)
	if err := sqlDB.Ping(); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return db, nil
}

// redactURL is target without its password, for error messages and logs.
func redactURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "the database URL"
	}
	return u.Redacted()
}

// ILike is the operator of a case-insensitive pattern match: SQLite's LIKE ignores the case of
// ASCII letters, Postgres's LIKE does not.
func ILike(db *gorm.DB) string {
	if IsPostgres(db) {
		return "ILIKE"
	}
	return "LIKE"
}

// startsNoCase is the condition that column matches a LIKE pattern (one parameter, escaped
// with backslashes) without regard to case, in the form its index serves: SQLite's LIKE ignores
// ASCII case and uses the COLLATE NOCASE index; Postgres matches lower(column), indexed with
// text_pattern_ops.
func startsNoCase(db *gorm.DB, column string) string {
	if IsPostgres(db) {
		return `lower(` + column + `) LIKE lower(?) ESCAPE '\'`
	}
	return column + ` LIKE ? ESCAPE '\'`
}

// NoCase is column compared and sorted without regard to case: COLLATE NOCASE on SQLite,
// lower(column) on Postgres (its expression indexes are built on lower(column) too).
func NoCase(db *gorm.DB, column string) string {
	if IsPostgres(db) {
		return "lower(" + column + ")"
	}
	return column + " COLLATE NOCASE"
}

// SQLBool is a boolean literal for raw SQL: SQLite stores booleans as 0 and 1, Postgres has a
// boolean type that refuses comparison with an integer. Prefer a bound parameter where there
// is one.
func SQLBool(db *gorm.DB, b bool) string {
	switch {
	case IsPostgres(db) && b:
		return "TRUE"
	case IsPostgres(db):
		return "FALSE"
	case b:
		return "1"
	default:
		return "0"
	}
}

// createStorageTable creates table with the columns Fiber's storage checks for (k text, v
// bytea, e bigint) and an index on e, unless it exists.
func createStorageTable(tx *gorm.DB, table string) error {
	name := clause.Table{Name: table}
	if err := tx.Exec(`CREATE TABLE IF NOT EXISTS ? (
		k TEXT PRIMARY KEY NOT NULL DEFAULT '',
		v BYTEA NOT NULL,
		e BIGINT NOT NULL DEFAULT '0')`, name).Error; err != nil {
		return err
	}
	return tx.Exec("CREATE INDEX IF NOT EXISTS ? ON ? (e)", clause.Table{Name: table + "_e"}, name).Error
}
