// Command bench is Tally's load benchmark: it builds the binary, starts it on loopback with a
// fresh data dir, seeds users, drives load with vegeta and prints one table of requests/s,
// p50/p99 latency and the ratio of each scenario to its limit, all measured in the same run.
// The limits come from the same run too: argon2id hashing in the bench process (limit A), a
// bare Fiber process that only checks a posted password (the HTTP hash limit) or serves one
// page (limit B). One user gets a household's ledger from tally demo (50,000 rows; 5,000 with
// -quick) for the register and report scenarios and the server times of the ledger's pages,
// and imports a bank CSV the bench writes (50,000 rows; 5,000 with -quick) into a new account:
// the upload to its preview and the commit are timed, with the server's RSS.
//
//	go run ./bench            # about 15 s a scenario
//	go run ./bench -quick     # about 3 s a scenario (CI smoke)
//	go run ./bench -json FILE # the table as JSON too
//	go run ./bench -database postgres://user:pass@host:5432/postgres
//	                          # the same on Postgres, in a database made for the run
//
// It exits non-zero only when the harness itself fails; a missed target is a measurement.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type options struct {
	dur      time.Duration // per scenario
	jsonPath string
	users    int
	workers  int // connections of the max-rate runs (floor, dashboard, register, report)
	keep     bool
	views    float64 // page views during the flood, as a fraction of the dashboard's peak
	rows     int     // tally demo --transactions for the register and report scenarios' user
	imports  int     // rows of the import's CSV
	database string  // a Postgres server's URL; empty: SQLite in the data dir
}

func main() {
	var o options
	quick := flag.Bool("quick", false, "run every scenario for about 3 s (CI smoke) instead of about 15 s")
	flag.StringVar(&o.jsonPath, "json", "", "also write the report as JSON to `FILE`")
	flag.IntVar(&o.users, "users", 500, "active users to seed")
	flag.IntVar(&o.workers, "workers", 32, "concurrent connections for the max-rate runs (floor, dashboard, register, report)")
	flag.Float64Var(&o.views, "flood-views", 0.5, "page views offered during the flood, as a `fraction` of the dashboard's peak")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (binary, data dir, server logs)")
	flag.IntVar(&o.rows, "ledger-rows", 0, fmt.Sprintf("transactions of the register and report scenarios' user, from tally demo (default %d, %d with -quick)", ledgerRows, ledgerRowsQuick))
	flag.IntVar(&o.imports, "import-rows", 0, fmt.Sprintf("rows of the CSV the import measurement uploads and commits (default %d, %d with -quick)", importRows, importRowsQuick))
	flag.StringVar(&o.database, "database", "", "run on Postgres: a database made for the run on the server this postgres:// `URL` names (its credentials; it needs CREATEDB), dropped at the end unless -keep; without it, SQLite in the data dir")
	floor := flag.String("floor-server", "", "internal: serve the bare Fiber floor (page and password check) on `ADDR`")
	flag.Usage = usage
	flag.Parse()

	if *floor != "" {
		if err := serveFloor(*floor); err != nil {
			fmt.Fprintln(os.Stderr, "bench floor server:", err)
			os.Exit(1)
		}
		return
	}
	o.dur = 15 * time.Second
	if *quick {
		o.dur = 3 * time.Second
	}
	if o.rows <= 0 {
		o.rows = ledgerRows
		if *quick {
			o.rows = ledgerRowsQuick
		}
	}
	if o.imports <= 0 {
		o.imports = importRows
		if *quick {
			o.imports = importRowsQuick
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// usage is flag's default output without the internal -floor-server flag.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage: go run ./bench [flags]\n")
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name == "floor-server" {
			return
		}
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(out, "  -%s %s\n    \t%s\n", f.Name, name, help)
	})
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// run is the whole benchmark, in the order of the report.
func run(ctx context.Context, o options) (err error) {
	var res results
	res.machine = machineInfo()
	res.dur, res.workers = o.dur, o.workers

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "tally-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil || o.keep {
			fmt.Fprintf(os.Stderr, "bench: kept %s (tally.log holds the server's output)\n", tmp)
			return
		}
		os.RemoveAll(tmp)
	}()

	bin := filepath.Join(tmp, "tally")
	progress("building %s", root)
	if res.binaryBytes, err = buildTally(ctx, root, bin); err != nil {
		return err
	}
	dataDir := filepath.Join(tmp, "data")
	db, err := openBenchDB(o.database, dataDir)
	if err != nil {
		return err
	}
	defer func() {
		if o.keep && db.url != "" {
			fmt.Fprintf(os.Stderr, "bench: kept the database %s\n", redacted(db.url))
			return
		}
		if dropErr := db.drop(); dropErr != nil {
			fmt.Fprintf(os.Stderr, "bench: drop the database %s: %v\n", redacted(db.url), dropErr)
		}
	}()
	res.database = db.name
	progress("seeding %d users and one more with a ledger", o.users)
	if err := seed(dataDir, db.target, o.users+1); err != nil {
		return err
	}
	env := tallyEnv(dataDir, db.url)
	progress("ledger: tally demo %s --transactions %d (not measured)", benchUser(o.users), o.rows)
	if res.ledger, err = seedLedger(ctx, bin, env, db.target, o.users, o.rows); err != nil {
		return err
	}
	progress("ledger: %d rows in %s, %d in the register of %q, %d from %s on (the reports' 12 months)", res.ledger.userRows,
		res.ledger.took.Round(time.Millisecond), res.ledger.accountRows, res.ledger.account, res.ledger.reportRows, res.ledger.reportFrom)

	srv, _, err := startTally(bin, env, filepath.Join(tmp, "tally.log"))
	if err != nil {
		return err
	}
	defer func() { srv.stop() }()

	floor, err := startFloor(tmp)
	if err != nil {
		return err
	}
	defer func() { floor.stop() }()
	if res.hashRuns, res.httpHashRuns, res.loginRuns, err = hashAndLogin(ctx, srv, floor, o); err != nil {
		return err
	}
	if err := floor.stop(); err != nil {
		return fmt.Errorf("stop floor: %w", err)
	}
	res.hash, res.httpHash, res.login = merge("hash", res.hashRuns), merge("http hash", res.httpHashRuns), merge("login", res.loginRuns)
	limitA := res.hash.rps()

	if res.floor, err = floorScenario(ctx, tmp, o); err != nil {
		return err
	}
	if res.dashboard, res.dashHalf, err = dashboardScenario(ctx, srv, o); err != nil {
		return err
	}
	res.dashRSSBefore = currentRSSMiB(srv.pid())
	views := math.Max(1, res.dashboard.rps()*o.views)
	if res.flood, res.floodLogin, res.floodHalves, err = floodScenario(ctx, srv, limitA, views, o); err != nil {
		return err
	}
	res.floodRSSAfter = currentRSSMiB(srv.pid())
	if err := srv.stop(); err != nil {
		return fmt.Errorf("stop tally: %w", err)
	}

	// The register, the report and the server times get a server of their own on the same data
	// dir: the flood's heap does not weigh on them, nor their reads of the ledger on the flood's
	// memory.
	if srv, _, err = startTally(bin, env, filepath.Join(tmp, "tally.log")); err != nil {
		return err
	}
	var cookie string
	if res.register, res.registerHalf, cookie, err = registerScenario(ctx, srv, o, res.ledger); err != nil {
		return err
	}
	if res.report, res.reportHalf, err = reportScenario(ctx, srv, o, res.ledger, cookie); err != nil {
		return err
	}
	if res.serverTimes, err = serverTimes(ctx, srv, o, cookie, res.ledger.sampledPages()); err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		return fmt.Errorf("stop tally: %w", err)
	}

	// The import gets a server of its own too, so its RSS is the upload's and the commit's.
	if srv, _, err = startTally(bin, env, filepath.Join(tmp, "tally.log")); err != nil {
		return err
	}
	if res.imports, err = importScenario(ctx, srv, res.ledger, o.imports); err != nil {
		return err
	}
	if err := srv.stop(); err != nil {
		return fmt.Errorf("stop tally: %w", err)
	}
	progress("start time: 5 restarts on the existing data dir")
	for range 5 {
		s, took, err := startTally(bin, env, filepath.Join(tmp, "tally.log"))
		if err != nil {
			return err
		}
		res.starts = append(res.starts, took)
		if err := s.stop(); err != nil {
			return fmt.Errorf("stop tally: %w", err)
		}
	}

	rep := buildReport(&res)
	rep.print(os.Stdout)
	if o.jsonPath != "" {
		if err := rep.writeJSON(o.jsonPath); err != nil {
			return err
		}
	}
	return nil
}
