package e2e

import (
	"os"
	"testing"

	"tally/testkit"
	"tally/testkit/testdb"
)

// TestMain runs the browser tests on SQLite, then on Postgres when TALLY_TEST_POSTGRES_URL is
// set, like the handlers' suite.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m, testkit.MigrateTemplate)) }
