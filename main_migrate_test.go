package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"tally/models"
	"tally/testkit"
)

// A data dir a newer Tally migrated: the server and every command that opens the database
// stop with one sentence naming both versions (main prints it after "tally:" and exits 1), and
// the server's failed start frees its port.
func TestRunRefusesANewerDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	addr := testkit.FreeAddr(t)
	env := map[string]string{"TALLY_DATA_DIR": dir, "TALLY_ADDR": addr}
	getenv := func(k string) string { return env[k] }
	if err := run(context.Background(), []string{"migrate"}, getenv, strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	db, err := models.Open(filepath.Join(dir, "tally.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Create(&models.SchemaMigration{Version: 999, Name: "from a newer Tally", AppliedAt: db.NowFunc()}).Error
	models.Close(db)
	if err != nil {
		t.Fatal(err)
	}
	// The server's context is over already: a server that started would return at once.
	over, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{nil, {"users"}, {"migrate"}} {
		ctx := context.Background()
		if args == nil {
			ctx = over
		}
		err := run(ctx, args, getenv, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "the database is at schema version 999, but this Tally knows versions up to ") {
			t.Errorf("tally %v: %v, want the refusal", args, err)
		}
		var newer *models.NewerSchemaError
		if args == nil && !errors.As(err, &newer) {
			t.Errorf("the server's start returned %v, want the refusal of a newer database", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port stayed taken after the failed start: %v", err)
	}
	ln.Close()
}
