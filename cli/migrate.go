package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"tally/backup"
	"tally/models"
	"tally/models/schema"
)

// migrate applies the schema versions the database lacks, without starting the server, and
// says what it did. It refuses a database newer than this binary, as the server does.
func (cli *CLI) migrate(ctx context.Context, args []string) error {
	if len(args) != 0 {
		return errors.New("migrate takes no arguments")
	}
	if err := os.MkdirAll(cli.Config.DataDir, 0o700); err != nil {
		return err
	}
	// A restore must not replace the file while it is being migrated.
	hold, err := backup.HoldDataDir(cli.Config.DataDir)
	if err != nil {
		return err
	}
	defer hold.Release()
	log := slog.New(slog.NewTextHandler(cli.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := models.Open(cli.databaseTarget(), log)
	if err != nil {
		return err
	}
	defer models.Close(db)
	r, err := schema.Up(ctx, db, cli.Config.DataDir, log)
	if r.Backup != "" {
		fmt.Fprintf(cli.Out, "Backed up the data into %s before upgrading.\n", r.Backup)
	}
	for _, m := range r.Applied {
		fmt.Fprintf(cli.Out, "Applied version %d: %s.\n", m.Version, m.Name)
	}
	if err != nil {
		return err
	}
	if len(r.Applied) == 0 {
		fmt.Fprintf(cli.Out, "The database is up to date (schema version %d).\n", r.To)
		return nil
	}
	fmt.Fprintf(cli.Out, "The database is at schema version %d.\n", r.To)
	return nil
}

// databaseTarget is what models.Open opens: the Postgres URL when there is one, the data dir's
// tally.db otherwise.
func (cli *CLI) databaseTarget() string {
	if cli.Config.DatabaseURL != "" {
		return cli.Config.DatabaseURL
	}
	return filepath.Join(cli.Config.DataDir, backup.DatabaseFile)
}
