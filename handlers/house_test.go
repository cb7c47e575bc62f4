package handlers

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// directTransaction is gorm's db.Transaction(func…) (the ledger's Book.Transaction(id) reads one
// row and is not it).
var directTransaction = regexp.MustCompile(`\.Transaction\(\s*func`)

// Handlers never open a transaction themselves: models.Transaction is the one way, and it
// invalidates the session cache after the commit, which a direct db.Transaction would forget.
func TestHandlersUseTheOneTransactionHelper(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if directTransaction.MatchString(line) {
				t.Errorf("%s:%d opens a transaction directly; use models.Transaction: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
