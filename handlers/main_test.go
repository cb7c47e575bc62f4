package handlers

import (
	"os"
	"testing"

	"tally/testkit"
	"tally/testkit/testdb"
)

// TestMain runs the suite on SQLite, then on Postgres when TALLY_TEST_POSTGRES_URL is set;
// every test's Postgres database is a copy of one migrated once.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, testkit.MigrateTemplate)) }
