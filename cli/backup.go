package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"tally/backup"
	"tally/buildinfo"
	"tally/models"
)

// Standalone says whether cmd opens what it needs itself, so that main opens no database for
// it: a backup must not migrate the data it copies, a restore needs the data dir closed, and a
// move opens the data dir's SQLite whatever TALLY_DATABASE_URL says; migrate says what it applies.
func Standalone(cmd string) bool {
	switch cmd {
	case "backup", "restore", "version", "move-to", "migrate":
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
	if cli.Config.DatabaseURL != "" {
		return cli.pgDumpAdvice(fs.Arg(0))
	}
	path := filepath.Join(cli.Config.DataDir, backup.DatabaseFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("nothing to back up: %w", err)
	}
	dest, err := cli.backupDest(fs.Arg(0), backup.FileName(cli.Now()), true)
	if err != nil {
		return err
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

// backupDest is where a backup goes: arg, or a file named name inside arg when it is a dir or
// ends in a separator, inside TALLY_BACKUP_DIR without arg, or the current dir. A dir that does
// not exist yet is made when mkdir is set (a command that writes nothing leaves it to the
// operator).
func (cli *CLI) backupDest(arg, name string, mkdir bool) (string, error) {
	dir := arg
	switch {
	case arg == "":
		dir = cli.Config.BackupDir // "" is the current dir
	case strings.HasSuffix(arg, "/") || strings.HasSuffix(arg, string(filepath.Separator)):
	default:
		if fi, err := os.Stat(arg); err != nil || !fi.IsDir() {
			return arg, nil
		}
	}
	if dir != "" && mkdir {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, name), nil
}

// pgDumpAdvice is the backup command on Postgres: the database server's own tool makes the
// backup (it reads one consistent snapshot while Tally runs), so Tally prints its command, with
// the password left out, and writes nothing.
func (cli *CLI) pgDumpAdvice(arg string) error {
	u, err := url.Parse(cli.Config.DatabaseURL)
	if err != nil {
		return errors.New("TALLY_DATABASE_URL is not a URL")
	}
	_, hasPassword := u.User.Password()
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for k := range q {
		// The password may hide in the query too, and pgx's own settings are unknown to libpq,
		// which refuses them.
		if !libpqParams[k] {
			hasPassword = hasPassword || k == "password"
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	dest, err := cli.backupDest(arg, "tally-"+cli.Now().UTC().Format("20060102T150405Z")+".dump", false)
	if err != nil {
		return err
	}
	cmd := "pg_dump --format=custom --file=" + shellQuote(dest) + " --dbname=" + shellQuote(u.String())
	if hasPassword {
		cmd = "PGPASSWORD=… " + cmd
	}
	fmt.Fprintln(cli.Out, "Tally's data is in Postgres (TALLY_DATABASE_URL): back it up with pg_dump, which copies one consistent snapshot while Tally runs. Nothing was written.")
	fmt.Fprintln(cli.Out, "")
	fmt.Fprintln(cli.Out, "    "+cmd)
	fmt.Fprintln(cli.Out, "")
	if hasPassword {
		fmt.Fprintln(cli.Out, "Put the database password in place of … (it is left out here), or leave PGPASSWORD out and let pg_dump ask for it.")
	}
	fmt.Fprintln(cli.Out, "The dump holds the sessions too. The secret is not in it: keep TALLY_SECRET with the dump.")
	fmt.Fprintln(cli.Out, "Restore into an empty database with: pg_restore --no-owner --dbname=URL FILE")
	return nil
}

// libpqParams are the connection URL's query parameters that pg_dump understands and that
// hold no secret.
var libpqParams = map[string]bool{
	"sslmode": true, "sslrootcert": true, "sslcert": true, "sslkey": true, "sslcrl": true, "sslcrldir": true,
	"sslsni": true, "sslcertmode": true, "ssl_min_protocol_version": true, "ssl_max_protocol_version": true,
	"channel_binding": true, "gssencmode": true, "requirepeer": true, "krbsrvname": true,
	"connect_timeout": true, "application_name": true, "options": true, "target_session_attrs": true,
	"host": true, "hostaddr": true, "port": true, "dbname": true, "user": true, "passfile": true, "service": true,
	"keepalives": true, "keepalives_idle": true, "keepalives_interval": true, "keepalives_count": true,
	"tcp_user_timeout": true, "load_balance_hosts": true, "client_encoding": true,
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
