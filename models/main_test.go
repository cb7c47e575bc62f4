package models

import (
	"os"
	"testing"

	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }
