package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// nameTimeLayout is the time in backup and aside names: UTC, sortable, no colons.
const nameTimeLayout = "20060102T150405Z"

// FileName is the name of a backup made at t: tally-20261123T033000Z.tar.gz.
func FileName(t time.Time) string {
	return "tally-" + t.UTC().Format(nameTimeLayout) + ".tar.gz"
}

// timeOfName is the time in a backup's name, or false for any other file.
func timeOfName(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, "tally-")
	if !ok {
		return time.Time{}, false
	}
	if s, ok = strings.CutSuffix(s, ".tar.gz"); !ok {
		return time.Time{}, false
	}
	s, _, _ = strings.Cut(s, "-") // a second backup in the same second: tally-<time>-2.tar.gz
	t, err := time.Parse(nameTimeLayout, s)
	return t, err == nil
}

// Info is one backup in a backup dir.
type Info struct {
	Name    string
	Path    string
	Created time.Time
	Size    int64
	// Verified is the manifest's: the copy passed its checks when it was made.
	Verified bool
	Rows     int64
	Sessions bool
	// Err says why the manifest could not be read (the file is then not a usable backup).
	Err string
}

// List returns the backups in dir, newest first; a dir that does not exist has none.
func List(dir string) ([]Info, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []Info
	for _, e := range entries {
		t, ok := timeOfName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info := Info{Name: e.Name(), Path: filepath.Join(dir, e.Name()), Created: t}
		if fi, err := e.Info(); err == nil {
			info.Size = fi.Size()
		}
		if m, err := ReadManifest(info.Path); err != nil {
			info.Err = err.Error()
		} else {
			info.Created, info.Verified, info.Rows, info.Sessions = m.Created, m.Verified, m.Rows(), m.Has(SessionsFile)
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// Prune deletes the backups in dir made more than keep before now, except the newest one
// (whatever its age: a server whose backups failed for weeks still has its last), and the
// leftovers of backups interrupted more than a day ago. Other files are never touched. It
// returns the names it deleted.
func Prune(dir string, keep time.Duration, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var backups []string
	for _, e := range entries {
		if _, ok := timeOfName(e.Name()); ok && e.Type().IsRegular() {
			backups = append(backups, e.Name())
		}
	}
	slices.Sort(backups) // oldest first: the names sort by time
	var removed []string
	var errs []error
	for i, name := range backups {
		t, _ := timeOfName(name)
		if i == len(backups)-1 || now.Sub(t) <= keep {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, workPrefix) && !(strings.HasPrefix(name, "tally-") && strings.HasSuffix(name, ".tar.gz.part")) {
			continue
		}
		if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > 24*time.Hour {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, name)))
		}
	}
	return removed, errors.Join(errs...)
}

// Schedule is when and where the daily backup is made.
type Schedule struct {
	Dir string
	// At is the time of day, in UTC, as the time since midnight.
	At time.Duration
	// Keep is how long a backup is kept.
	Keep time.Duration
}

// Next is the first time of the schedule after now.
func (s Schedule) Next(now time.Time) time.Time {
	now = now.UTC()
	next := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).Add(s.At)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// ErrBusy is a backup asked for while another is being made.
var ErrBusy = errors.New("a backup is being made already")

// Scheduler makes the daily backup and those a superuser asks for, one at a time, and
// remembers how the last one went.
type Scheduler struct {
	schedule Schedule
	source   Source
	log      *slog.Logger
	// After is the timer the daily loop waits on (tests replace it).
	After func(time.Duration) <-chan time.Time

	making sync.Mutex // held while a backup is made
	mu     sync.Mutex
	last   Run
	lastOK time.Time
}

// Run is one attempt at a backup.
type Run struct {
	Started  time.Time
	Reason   string // "scheduled" or who asked
	Path     string
	Duration time.Duration
	Err      error
}

// NewScheduler makes backups of src into s.Dir. It knows the newest backup already there, so
// the backup age is right from the start.
func NewScheduler(s Schedule, src Source, log *slog.Logger) *Scheduler {
	if src.Now == nil {
		src.Now = func() time.Time { return time.Now().UTC() }
	}
	sch := &Scheduler{schedule: s, source: src, log: log, After: time.After}
	if list, err := List(s.Dir); err == nil {
		for _, b := range list {
			if b.Verified {
				sch.lastOK = b.Created
				break
			}
		}
	}
	return sch
}

// Schedule is the scheduler's schedule.
func (s *Scheduler) Schedule() Schedule { return s.schedule }

// Loop makes the daily backup until ctx ends.
func (s *Scheduler) Loop(ctx context.Context) {
	for {
		now := s.source.Now()
		select {
		case <-ctx.Done():
			return
		case <-s.After(s.schedule.Next(now).Sub(now)):
		}
		// An error is logged and kept for the admin page by BackUp.
		_, _ = s.BackUp(ctx, "scheduled")
	}
}

// BackUp makes a backup now, then deletes those older than the schedule keeps. A failure is
// logged at ERROR and kept for the admin page until the next backup succeeds. It returns
// ErrBusy at once while another backup is being made.
func (s *Scheduler) BackUp(ctx context.Context, reason string) (Info, error) {
	if !s.making.TryLock() {
		return Info{}, ErrBusy
	}
	defer s.making.Unlock()
	run := Run{Started: s.source.Now(), Reason: reason}
	run.Path = filepath.Join(s.schedule.Dir, FileName(run.Started))
	for i := 2; ; i++ {
		if _, err := os.Lstat(run.Path); err != nil {
			break // free (or unusable: Create says why)
		}
		run.Path = filepath.Join(s.schedule.Dir, strings.TrimSuffix(FileName(run.Started), ".tar.gz")+fmt.Sprintf("-%d.tar.gz", i))
	}
	start := time.Now()
	m, err := Create(ctx, s.source, run.Path)
	run.Duration, run.Err = time.Since(start), err
	var info Info
	if err == nil {
		info = Info{Name: filepath.Base(run.Path), Path: run.Path, Created: m.Created, Verified: m.Verified, Rows: m.Rows(), Sessions: m.Has(SessionsFile)}
		if fi, statErr := os.Stat(run.Path); statErr == nil {
			info.Size = fi.Size()
		}
		s.log.Info("backup made", "reason", reason, "path", run.Path, "bytes", info.Size, "rows", info.Rows, "duration", run.Duration)
		removed, pruneErr := Prune(s.schedule.Dir, s.schedule.Keep, run.Started)
		for _, name := range removed {
			s.log.Info("old backup deleted", "name", name)
		}
		if pruneErr != nil {
			s.log.Error("deleting old backups failed", "dir", s.schedule.Dir, "err", pruneErr)
		}
	} else {
		s.log.Error("BACKUP FAILED", "reason", reason, "path", run.Path, "err", err)
	}
	s.mu.Lock()
	s.last = run
	if err == nil {
		s.lastOK = m.Created
	}
	s.mu.Unlock()
	return info, err
}

// Status is how the backups go.
type Status struct {
	// Last is the latest attempt (zero before the first of this process).
	Last Run
	// LastSuccess is when the newest good backup was made (zero: none yet).
	LastSuccess time.Time
	Next        time.Time
}

// Status says how the backups go.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Last: s.last, LastSuccess: s.lastOK, Next: s.schedule.Next(s.source.Now())}
}

// Backups lists the backups in the scheduler's dir, newest first.
func (s *Scheduler) Backups() ([]Info, error) { return List(s.schedule.Dir) }
