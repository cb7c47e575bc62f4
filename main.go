// Tally is a self-hosted personal finance tracker in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
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

	// The port is taken before the database is opened: bringing the schema up to date may take
	// a backup first or wait for another instance's migration, and meanwhile a proxy should find
	// an instance that answers "not ready", not a refused connection.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	starting := serveStarting(ln.(*net.TCPListener)) // what net.Listen gives for "tcp"
	srv, err := handlers.Open(cfg, log, handlers.Options{Stdout: stdout})
	if stopErr := starting.stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		if srv != nil {
			_ = srv.Close()
		}
		_ = ln.Close()
		return err
	}
	defer srv.Close()
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
	log.Info("shutting down: draining requests", "drain", cfg.Drain.String())
	srv.Draining()
	// Still serving, not ready: a proxy that checks /readyz stops sending new requests here.
	if cfg.Drain > 0 {
		select {
		case err := <-served:
			return err
		case <-time.After(cfg.Drain):
		}
	}
	if err := srv.App.ShutdownWithTimeout(20 * time.Second); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// startingServer answers on the port while the database opens: /healthz 200 (the process is
// alive), /readyz 503 "migrating", anything else 503 with Retry-After. It serves the listener the
// app serves next, so the port never refuses a connection: those that arrive between its stop
// and the app's first Accept wait in the kernel's backlog.
type startingServer struct {
	ln     *startingListener
	served chan error
	// conns counts the connections accepted and not yet closed.
	conns sync.WaitGroup
}

func serveStarting(ln *net.TCPListener) *startingServer {
	s := &startingServer{ln: &startingListener{TCPListener: ln}, served: make(chan error, 1)}
	srv := &http.Server{
		Handler:           http.HandlerFunc(answerStarting),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		// Called by Serve for a new connection before it accepts the next one.
		ConnState: func(_ net.Conn, state http.ConnState) {
			switch state {
			case http.StateNew:
				s.conns.Add(1)
			case http.StateClosed, http.StateHijacked:
				s.conns.Done()
			}
		},
	}
	// One request per connection: the client's next one opens a new connection, which the app
	// accepts once it serves.
	srv.SetKeepAlivesEnabled(false)
	go func() { s.served <- srv.Serve(s.ln) }()
	return s
}

// stop stops accepting, waits until every accepted connection has had its answer, and leaves
// the listener open for the app. It does not use http.Server.Shutdown: that closes, unanswered,
// a connection accepted before it whose request is read after it.
func (s *startingServer) stop() error {
	s.ln.stopping.Store(true)
	err := s.ln.SetDeadline(time.Now()) // ends the pending Accept
	if serr := <-s.served; !errors.Is(serr, net.ErrClosed) {
		err = errors.Join(err, serr)
	}
	// A connection's request is read within ReadHeaderTimeout, its answer written within
	// WriteTimeout, and then it is closed.
	s.conns.Wait()
	return errors.Join(err, s.ln.SetDeadline(time.Time{}))
}

// startingListener is the app's listener as the starting server sees it: Serve's Close leaves
// it open, and once stopping, an Accept ended by the deadline ends Serve.
type startingListener struct {
	*net.TCPListener
	stopping atomic.Bool
}

func (l *startingListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.Accept()
	if err != nil && l.stopping.Load() {
		return nil, net.ErrClosed
	}
	return c, err
}

func (l *startingListener) Close() error { return nil }

// startingMessage is the page every other request gets while the database opens.
const startingMessage = "Tally is starting: upgrading its database.\n"

func answerStarting(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The app's headers for its pages, with a policy for a page that loads nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	handlers.SecurityHeaders(h.Set)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case read && r.URL.Path == "/healthz":
		_, _ = io.WriteString(w, "ok")
	case read && r.URL.Path == "/readyz":
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, handlers.ReadyMigrating)
	default:
		h.Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, startingMessage)
	}
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
