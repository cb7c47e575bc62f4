package models

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Errors the handlers map to responses; they never carry SQL or values.
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
)

// Open opens the money database with the pragmas that make concurrent use safe: WAL, a busy
// timeout, foreign keys, synchronous=FULL (a committed write survives power loss) and
// immediate transactions, so two writers queue instead of failing with "database is locked".
func Open(path string, log *slog.Logger) (*gorm.DB, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(1)", "synchronous(FULL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()

	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		TranslateError: true,
		// The default logger prints bound values on errors, password hashes included. (GORM's
		// slog logger formats every statement even when it logs nothing: this one does not.)
		Logger: logger.New(slogWriter{log}, logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
		NowFunc: func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// Readers run in parallel under WAL; enough connections that requests waiting on a commit do
	// not hold up the rest, all kept open (GORM's default keeps 2 idle and reconnects).
	sqlDB.SetMaxOpenConns(16)
	sqlDB.SetMaxIdleConns(16)
	sqlDB.SetConnMaxIdleTime(time.Hour)
	if err := sqlDB.Ping(); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// Migrate brings the schema up to date; it runs at every start.
func Migrate(db *gorm.DB) error {
	if err := db.AutoMigrate(&User{}, &AuthSession{}, &Email{}, &SecurityEvent{}, &LoginFailure{}, &LoginLock{},
		&Profile{}, &Avatar{}); err != nil {
		return err
	}
	return migrateUserListIndexes(db)
}

// Close closes the underlying connection pool.
func Close(db *gorm.DB) error {
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
