package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"tally/backup"
	"tally/models"
	"tally/models/ledger"
	"tally/models/schema"
)

// sessionStores are the session storage's tables: in sessions.db beside tally.db, and the
// tables of the same storage on Postgres (handlers/sessions.go). The rate counters are not
// moved: they restart at zero, as after any restart of their storage.
var sessionStores = []struct{ from, to string }{{"sessions", "tally_sessions"}}

// moveTo copies the data dir's SQLite install into the empty Postgres database args[0] names:
// see models.Move for what is copied and proven. The data dir must not be served meanwhile (a
// write after the copy would be lost at the switch), so it is taken as a restore takes it.
func (cli *CLI) moveTo(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("give the Postgres URL to move to: tally move-to postgres://user:pass@host:5432/tally")
	}
	target := args[0]
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("the target must be a postgres:// URL, such as postgres://user:pass@host:5432/tally?sslmode=require")
	}
	dataDir := cli.Config.DataDir
	path := filepath.Join(dataDir, backup.DatabaseFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("nothing to move: %w", err)
	}
	lock, err := backup.HoldAlone(dataDir)
	if err != nil {
		return fmt.Errorf("%w; a move copies the data as it is when the server is stopped", err)
	}
	defer lock.Release()

	log := slog.New(slog.NewTextHandler(cli.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, err := models.Open(path, log)
	if err != nil {
		return err
	}
	defer models.Close(src)
	dst, err := models.Open(target, log)
	if err != nil {
		return err
	}
	defer models.Close(dst)

	plan := ledger.MovePlan(cli.Now())
	sessions, err := openSessions(filepath.Join(dataDir, backup.SessionsFile))
	if err != nil {
		return err
	}
	if sessions != nil {
		defer sessions.Close()
		for _, s := range sessionStores {
			plan.Stores = append(plan.Stores, models.MoveStore{Source: sessions, From: s.from, To: s.to})
		}
	}
	if err := models.CheckMoveTarget(dst, plan); err != nil {
		if errors.Is(err, models.ErrNotEmpty) {
			return fmt.Errorf("%s: %w; move-to only fills an empty database (create a new one, or drop and recreate this one)", u.Redacted(), err)
		}
		return err
	}
	// Both at this binary's version: the source as a start of this binary would leave it (with
	// the backup an upgrade makes), the target from nothing.
	if _, err := schema.Up(ctx, src, dataDir, log); err != nil {
		return fmt.Errorf("migrate %s: %w", path, err)
	}
	if _, err := schema.Up(ctx, dst, "", log); err != nil {
		return fmt.Errorf("migrate %s: %w", u.Redacted(), err)
	}
	rep, err := models.Move(ctx, src, dst, plan)
	if err != nil {
		return err
	}
	cli.printMove(rep, path, u.Redacted())
	return nil
}

// openSessions opens sessions.db read-only through the C SQLite that writes it (two SQLite
// libraries must not share a file in one process); nil when there is none.
func openSessions(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, sessionStores[0].from).Scan(&n); err != nil || n == 0 {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (cli *CLI) printMove(rep *models.MoveReport, from, to string) {
	fmt.Fprintf(cli.Out, "Copied %d rows from %s into %s in %.1f s, in one transaction:\n", rep.Rows(), from, to, rep.Took.Seconds())
	w := tabwriter.NewWriter(cli.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "  table\tSQLite\tPostgres\t")
	for _, t := range rep.Tables {
		fmt.Fprintf(w, "  %s\t%d\t%d\t\n", t.Name, t.Source, t.Target)
	}
	w.Flush()
	var checks []string
	for _, c := range rep.Checks {
		rows := "rows"
		if c.Target == 1 {
			rows = "row"
		}
		checks = append(checks, fmt.Sprintf("%s (%d %s)", c.Name, c.Target, rows))
	}
	fmt.Fprintf(cli.Out, "Equal: %s.\n", strings.Join(checks, ", "))
	fmt.Fprintf(cli.Out, "Set %d sequences past the copied ids.\n", rep.Sequences)
	secret := filepath.Join(cli.Config.DataDir, backup.SecretFile)
	// A data dir's secret.key is the secret unless TALLY_SECRET was set when it was made.
	if _, err := os.Stat(secret); err == nil {
		fmt.Fprintf(cli.Out, "Start Tally with TALLY_DATABASE_URL set to this URL and TALLY_SECRET set to the content of %s: sessions, links and two-factor secrets are sealed with it.\n", secret)
	} else {
		fmt.Fprintln(cli.Out, "Start Tally with TALLY_DATABASE_URL set to this URL and the same TALLY_SECRET.")
	}
}
