package ledger

import (
	"io"
	"log/slog"
	"os"
	"testing"

	"tally/models"
	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, migrateTemplate)) }

// migrateTemplate makes the tables every test's Postgres database is copied with.
func migrateTemplate(url string) error {
	db, err := models.Open(url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer models.Close(db)
	if err := models.Migrate(db); err != nil {
		return err
	}
	return Migrate(db)
}
