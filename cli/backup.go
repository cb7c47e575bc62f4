package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"tally/backup"
	"tally/buildinfo"
	"tally/models"
)

// Standalone says whether cmd opens what it needs itself, so that main opens no database for
// it: a backup must not migrate the data it copies, and a restore needs the data dir closed.
func Standalone(cmd string) bool {
	switch cmd {
	case "backup", "restore", "version":
		return true
	}
	return false
}

// backup writes a backup of the data dir: to FILE, into FILE when it is a dir, or else into
// TALLY_BACKUP_DIR or the current dir. It runs beside the server: writers wait while the copy
// is made.
func (cli *CLI) backup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(cli.Err)
	sessions := fs.Bool("sessions", false, "include the sessions (a restore then keeps everyone signed in)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return errors.New("give at most one file or dir")
	}
	path := filepath.Join(cli.Config.DataDir, backup.DatabaseFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("nothing to back up: %w", err)
	}
	dest := fs.Arg(0)
	if dest == "" {
		dest = cli.Config.BackupDir
	}
	if fi, err := os.Stat(dest); dest == "" || (err == nil && fi.IsDir()) {
		dest = filepath.Join(dest, backup.FileName(cli.Now()))
	}
	db, err := models.Open(path, slog.New(slog.NewTextHandler(cli.Err, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer models.Close(db)
	m, err := backup.Create(ctx, backup.Source{DataDir: cli.Config.DataDir, DB: db, Sessions: *sessions,
		Version: buildinfo.Read().Version, Now: cli.Now}, dest)
	if err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(dest); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(cli.Out, "Backup written to %s (%d bytes).\n", dest, size)
	fmt.Fprintf(cli.Out, "It holds %s (%d rows in %d tables, integrity and row counts checked)%s.\n",
		backup.DatabaseFile, m.Rows(), len(m.Tables), holds(m))
	if m.Secret == "environment" {
		fmt.Fprintln(cli.Out, "The secret is not in it: it comes from TALLY_SECRET, which you must keep with the backup.")
	}
	return nil
}

// holds lists the rest of a backup.
func holds(m *backup.Manifest) string {
	var parts []string
	if m.Has(backup.SecretFile) {
		parts = append(parts, "the secret")
	}
	if m.Has(backup.SessionsFile) {
		parts = append(parts, "the sessions")
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, " and ")
}

// restore puts a backup in place of the data dir's data, keeping the current files aside.
func (cli *CLI) restore(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("give the backup file to restore")
	}
	r, err := backup.Restore(ctx, args[0], cli.Config.DataDir, cli.Now())
	if err != nil {
		return err
	}
	m := r.Manifest
	fmt.Fprintf(cli.Out, "Checked %s: made %s by Tally %s; %s passed its integrity check with %d rows in %d tables.\n",
		args[0], m.Created.UTC().Format("2006-01-02 15:04:05 UTC"), m.Version, backup.DatabaseFile, m.Rows(), len(m.Tables))
	if r.Aside != "" {
		fmt.Fprintf(cli.Out, "Moved the current files aside into %s: %s.\n", r.Aside, strings.Join(r.Moved, ", "))
	}
	fmt.Fprintf(cli.Out, "Restored into %s: %s.\n", cli.Config.DataDir, strings.Join(r.Restored, ", "))
	if !m.Has(backup.SessionsFile) {
		fmt.Fprintln(cli.Out, "The backup has no sessions: everyone signs in again.")
	}
	switch {
	case m.Secret == "environment":
		fmt.Fprintln(cli.Out, "The backup was made with TALLY_SECRET: start Tally with the same TALLY_SECRET, or links and sign-ins made before it stop working.")
	case cli.Config.Secret != nil:
		fmt.Fprintln(cli.Out, "TALLY_SECRET is set, so Tally uses it rather than the restored secret.key.")
	}
	if r.Aside != "" {
		fmt.Fprintf(cli.Out, "Start Tally; once it runs well on the restored data, you may delete %s.\n", r.Aside)
	}
	return nil
}

func (cli *CLI) version(args []string) error {
	if len(args) != 0 {
		return errors.New("version takes no arguments")
	}
	fmt.Fprintln(cli.Out, buildinfo.Read())
	return nil
}
