// Tally is a self-hosted personal finance tracker in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"tally/cli"
	"tally/config"
	"tally/handlers"
	"tally/models"
)

func main() {
	tuneRuntime(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tally:", err)
		os.Exit(1)
	}
}

// run is the whole program, so tests can start it with their own environment. With
// arguments it runs a command (cli.CLI) instead of the server.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if len(args) > 0 && cli.Standalone(args[0]) {
		return (&cli.CLI{Config: cfg, In: stdin, Out: stdout, Err: stderr}).Run(ctx, args)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := cfg.LoadSecret(); err != nil {
		return err
	}
	if len(args) > 0 {
		db, err := handlers.OpenDatabase(cfg, log)
		if err != nil {
			return err
		}
		defer models.Close(db)
		cmd := &cli.CLI{Config: cfg, DB: db, In: stdin, Out: stdout, Err: stderr}
		return cmd.Run(ctx, args)
	}

	srv, err := handlers.Open(cfg, log, handlers.Options{Stdout: stdout})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.App.Listener(ln) }()
	log.Info("tally is running", "url", cfg.BaseURL.String(), "addr", ln.Addr().String(), "data_dir", cfg.DataDir)
	fmt.Fprintf(stdout, "Tally is running at %s\n", cfg.BaseURL)
	if link := srv.SetupLink(); link != "" {
		fmt.Fprintf(stdout, "No superuser yet. Create the first one at %s (the link works once, while this process runs).\n", link)
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests")
	srv.Draining()
	if err := srv.App.ShutdownWithTimeout(20 * time.Second); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Prod {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// tuneRuntime sets a soft memory limit and a GC target unless the operator set them (GOMEMLIMIT,
// GOGC): each password hash leaves 19 MiB of garbage, and these keep a login flood's heap near
// what is live without fragmenting it (the measurements are in docs/performance.md). GOMAXPROCS
// stays at the number of CPUs.
func tuneRuntime(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

const (
	memoryLimit = 110 << 20
	gcPercent   = 75
)
