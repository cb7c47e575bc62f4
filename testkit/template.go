package testkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"

	"tally/models"
	"tally/models/schema"
)

// MigrateTemplate brings the database at url to the binary's schema: testdb.Main calls it once
// for the template every test's Postgres database is copied from.
func MigrateTemplate(url string) error {
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
