package handlers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"

	"tally/models"
	"tally/models/schema"
	"tally/testkit/testdb"
)

// TestMain runs the suite on SQLite, then on Postgres when TALLY_TEST_POSTGRES_URL is set;
// every test's Postgres database is a copy of one migrated once.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, migrateTemplate)) }

func migrateTemplate(url string) error {
	dir, err := os.MkdirTemp("", "tally-template")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := models.Open(url, log)
	if err != nil {
		return err
	}
	_, err = schema.Up(context.Background(), db, dir, log)
	return errors.Join(err, models.Close(db))
}
