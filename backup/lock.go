package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrInUse is a data dir that a running server holds (or that a restore is rewriting).
var ErrInUse = errors.New("the data dir is in use")

// Lock is a hold on a data dir's tally.lock; the kernel releases it when the process ends,
// however it ends, so no stale lock outlives a crash (a pid file would, and its pid could
// belong to another process by then).
type Lock struct{ f *os.File }

// HoldDataDir takes a shared hold on dir for a server: any number of servers and commands may
// hold it at once (the handler tests restart a server in one process), and a restore, which
// needs it alone, refuses while one does. It fails with ErrInUse while a restore runs.
func HoldDataDir(dir string) (*Lock, error) {
	l, err := lockDataDir(dir, false)
	if errors.Is(err, ErrInUse) {
		return nil, fmt.Errorf("%w: a restore is running on %s", ErrInUse, dir)
	}
	return l, err
}

// HoldAlone takes dir for a command that must have it to itself (a restore, a move to
// Postgres), or fails with ErrInUse while a server holds it.
func HoldAlone(dir string) (*Lock, error) { return holdAlone(dir) }

// holdAlone takes dir for a restore, or fails with ErrInUse while a server holds it.
func holdAlone(dir string) (*Lock, error) {
	l, err := lockDataDir(dir, true)
	if errors.Is(err, ErrInUse) {
		return nil, fmt.Errorf("%w: a Tally server is running on %s (it holds %s); stop it first", ErrInUse, dir, LockFile)
	}
	return l, err
}

func lockDataDir(dir string, exclusive bool) (*Lock, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f, exclusive); err != nil {
		f.Close()
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Release gives the hold up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the file releases its lock
	l.f = nil
	return err
}
