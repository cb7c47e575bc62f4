package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gorm.io/gorm"

	"tally/models"
	"tally/models/schema"
)

// moduleRoot is the directory of the go.mod the bench belongs to (go run ./bench runs from
// the repository root; go env GOMOD also finds it from a subdirectory).
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the tally module: run go run ./bench from the repository")
	}
	return filepath.Dir(gomod), nil
}

// buildTally builds the release binary the way the Taskfile does and returns its size.
func buildTally(ctx context.Context, root, out string) (int64, error) {
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("go build: %w", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	progress("built in %s", time.Since(start).Round(time.Millisecond))
	return fi.Size(), nil
}

const (
	benchPassword = "bench-password-for-load-tests"
	benchSecret   = "bench-secret-0123456789abcdef0123456789abcdef"
)

func benchUser(i int) string { return fmt.Sprintf("bench%04d", i) }

// seed creates the data dir and the schema in target (the data dir's tally.db or a Postgres
// URL), as the server's start would, with n active users sharing one precomputed hash, and
// closes it before the server opens it.
func seed(dataDir, target string, n int) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := models.Open(target, log)
	if err != nil {
		return err
	}
	defer models.Close(db)
	if _, err := schema.Up(context.Background(), db, dataDir, log); err != nil {
		return err
	}
	hash, err := models.HashPassword(benchPassword, models.DefaultHashParams)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	return db.Transaction(func(tx *gorm.DB) error {
		for i := range n {
			_, err := models.CreateUser(tx, models.NewUser{
				Username: benchUser(i), Email: benchUser(i) + "@bench.invalid",
				FirstName: "Bench", LastName: strconv.Itoa(i), PasswordHash: hash, Active: true,
			}, now)
			if err != nil {
				return fmt.Errorf("seed user %d: %w", i, err)
			}
		}
		return nil
	})
}

// tallyEnv is the server's environment: the caller's, minus any TALLY_* of the developer's,
// plus a quiet log and per-IP limits out of the way (all the load comes from 127.0.0.1), and
// TALLY_DATABASE_URL when the run is on Postgres.
func tallyEnv(dataDir, databaseURL string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TALLY_") {
			env = append(env, kv)
		}
	}
	if databaseURL != "" {
		env = append(env, "TALLY_DATABASE_URL="+databaseURL)
	}
	return append(env,
		"TALLY_DATA_DIR="+dataDir,
		"TALLY_LOG_LEVEL=warn",
		"TALLY_SECRET="+benchSecret,
		"TALLY_RATE_IP_HOUR=100000000",
		"TALLY_IP_LOGIN_LIMIT=100000000",
		"TALLY_LOCKOUT_THRESHOLD=100000000",
	)
}

// proc is a server process the bench started: Tally or the floor server.
type proc struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	exited chan struct{}
	once   sync.Once
	err    error
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// freeAddr asks the kernel for a free loopback port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startTally(bin string, env []string, logPath string) (*proc, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	return startProc(bin, nil, append(env, "TALLY_ADDR="+addr), logPath, addr, "/readyz")
}

// startProc starts a server, polls health every 5 ms and returns the time from exec to its
// first 200.
func startProc(bin string, args, env []string, logPath, addr, health string) (*proc, time.Duration, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, err
	}
	defer logf.Close() // the child keeps its own descriptor
	p := &proc{cmd: exec.Command(bin, args...), base: "http://" + addr, exited: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		return nil, 0, err
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()

	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		resp, err := client.Get(p.base + health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, time.Since(start), nil
			}
		}
		select {
		case <-p.exited:
			return nil, 0, fmt.Errorf("%s exited before answering %s: %v (see %s)", filepath.Base(bin), health, p.err, logPath)
		case <-deadline:
			p.stop()
			return nil, 0, fmt.Errorf("%s did not answer %s within 30 s (see %s)", filepath.Base(bin), health, logPath)
		case <-tick.C:
		}
	}
}

// stop sends SIGTERM to this process only and waits for it (killing it after 30 s).
func (p *proc) stop() error {
	var err error
	p.once.Do(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
				err = errors.New("did not exit within 30 s of SIGTERM; killed")
				return
			}
		}
		var exit *exec.ExitError
		if errors.As(p.err, &exit) {
			err = p.err
		}
	})
	return err
}
