package backup_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tally/backup"
	"tally/testkit"
)

func TestScheduleNext(t *testing.T) {
	at := 3*time.Hour + 30*time.Minute
	for _, tc := range []struct {
		name, now, want string
	}{
		{"earlier that day", "2026-11-23T01:00:00Z", "2026-11-23T03:30:00Z"},
		{"at the time itself: tomorrow", "2026-11-23T03:30:00Z", "2026-11-24T03:30:00Z"},
		{"later that day", "2026-11-23T12:00:00Z", "2026-11-24T03:30:00Z"},
		{"end of the month", "2026-11-30T23:59:59Z", "2026-12-01T03:30:00Z"},
		{"a local clock is read as UTC", "2026-11-23T04:00:00+02:00", "2026-11-23T03:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now, _ := time.Parse(time.RFC3339, tc.now)
			want, _ := time.Parse(time.RFC3339, tc.want)
			if got := (backup.Schedule{At: at}).Next(now); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", tc.now, got, want)
			}
		})
	}
}

func TestPruneDeletesOnlyOldBackups(t *testing.T) {
	now := time.Date(2026, 11, 23, 3, 30, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name        string
		files       []string
		wantRemoved []string
	}{
		{
			name: "older than the 14 days go, the rest and other files stay",
			files: []string{
				backup.FileName(now), backup.FileName(now.Add(-13 * day)), backup.FileName(now.Add(-14 * day)),
				backup.FileName(now.Add(-14*day - time.Second)), backup.FileName(now.Add(-40 * day)),
				"tally-20261001T033000Z-2.tar.gz", // a second backup in the same second
				"notes.txt", "tally-manual.tar.gz", "tally-20261001T033000Z.tar", "other-20261001T033000Z.tar.gz",
			},
			wantRemoved: []string{
				backup.FileName(now.Add(-14*day - time.Second)), backup.FileName(now.Add(-40 * day)), "tally-20261001T033000Z-2.tar.gz",
			},
		},
		{
			name:        "the newest backup stays however old",
			files:       []string{backup.FileName(now.Add(-30 * day)), backup.FileName(now.Add(-20 * day))},
			wantRemoved: []string{backup.FileName(now.Add(-30 * day))},
		},
		{"nothing to do", []string{"README"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(dir, "tally-20200101T000000Z.tar.gz.d"), 0o700); err != nil {
				t.Fatal(err)
			}
			removed, err := backup.Prune(dir, 14*day, now)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(removed)
			slices.Sort(tc.wantRemoved)
			if !slices.Equal(removed, tc.wantRemoved) {
				t.Errorf("removed %v, want %v", removed, tc.wantRemoved)
			}
			for _, f := range tc.files {
				_, err := os.Stat(filepath.Join(dir, f))
				if gone := os.IsNotExist(err); gone != slices.Contains(tc.wantRemoved, f) {
					t.Errorf("%s: gone = %v", f, gone)
				}
			}
		})
	}
}

func TestPruneClearsStaleLeftovers(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	stale := filepath.Join(dir, ".tally-backup-123")
	fresh := filepath.Join(dir, ".tally-backup-456")
	part := filepath.Join(dir, backup.FileName(now.Add(-48*time.Hour))+".part")
	for _, d := range []string{stale, fresh} {
		os.Mkdir(d, 0o700)
	}
	os.WriteFile(part, []byte("x"), 0o600)
	old := now.Add(-25 * time.Hour)
	os.Chtimes(stale, old, old)
	os.Chtimes(part, old, old)
	if _, err := backup.Prune(dir, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	for path, wantGone := range map[string]bool{stale: true, part: true, fresh: false} {
		if _, err := os.Stat(path); os.IsNotExist(err) != wantGone {
			t.Errorf("%s: gone = %v", filepath.Base(path), !wantGone)
		}
	}
}

// fakeTimer stands for time.After: each wait is announced on asked, and fires when the test
// sends on fire.
type fakeTimer struct {
	asked chan time.Duration
	fire  chan time.Time
}

func (f *fakeTimer) after(d time.Duration) <-chan time.Time {
	f.asked <- d
	return f.fire
}

func TestSchedulerMakesTheDailyBackupAndReportsFailure(t *testing.T) {
	dir, db, _, _ := dataDir(t)
	backups := filepath.Join(t.TempDir(), "backups")
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var logs testkit.SyncBuffer
	sched := backup.Schedule{Dir: backups, At: 3*time.Hour + 30*time.Minute, Keep: 14 * 24 * time.Hour}
	// An old backup that the first run's pruning deletes.
	os.MkdirAll(backups, 0o700)
	old := filepath.Join(backups, backup.FileName(now.Add(-30*24*time.Hour)))
	os.WriteFile(old, []byte("x"), 0o600)

	s := backup.NewScheduler(sched, backup.Source{DataDir: dir, DB: db, Now: clock}, slog.New(slog.NewTextHandler(&logs, nil)))
	if !s.Status().LastSuccess.IsZero() {
		t.Errorf("an unreadable file counted as a backup: %v", s.Status().LastSuccess)
	}
	timer := &fakeTimer{asked: make(chan time.Duration), fire: make(chan time.Time)}
	s.After = timer.after
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Loop(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	if d := <-timer.asked; d != 150*time.Minute {
		t.Errorf("first wait %s, want 2h30m", d)
	}
	timer.fire <- now
	<-timer.asked // the loop waits again: the backup is made
	list, err := s.Backups()
	if err != nil || len(list) != 1 {
		t.Fatalf("backups = %+v, %v", list, err)
	}
	if b := list[0]; !b.Verified || b.Name != backup.FileName(now) || b.Size == 0 || b.Err != "" {
		t.Errorf("backup = %+v", b)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the 30-day-old backup is still there")
	}
	if st := s.Status(); st.Last.Err != nil || st.Last.Reason != "scheduled" || !st.LastSuccess.Equal(now) {
		t.Errorf("status = %+v", st)
	}

	// A failing backup (here: the database is gone) is logged at ERROR and kept for the page.
	now = now.Add(24 * time.Hour)
	if err := os.Rename(filepath.Join(dir, backup.DatabaseFile), filepath.Join(dir, "moved.db")); err != nil {
		t.Fatal(err)
	}
	timer.fire <- now
	<-timer.asked
	st := s.Status()
	if st.Last.Err == nil || !st.LastSuccess.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("status after a failure = %+v", st)
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"BACKUP FAILED\" reason=scheduled") {
		t.Errorf("no ERROR line:\n%s", logs.String())
	}
	if list, _ := s.Backups(); len(list) != 1 {
		t.Errorf("a failed backup left a file: %+v", list)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(backups, ".tally-backup-*")); len(leftovers) != 0 {
		t.Errorf("leftovers: %v", leftovers)
	}
}
