package models

import (
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"tally/testkit/testdb"
)

// Requests counted at once through three handles on one database (on Postgres, three
// instances' pools) each get a different count: 1 to n, none twice, none skipped.
func TestRateLimitsCountExactlyAcrossInstances(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	target := testdb.Target(t, t.TempDir())
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	var limits []*RateLimits
	for range 3 {
		db, err := Open(target, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Close(db) })
		if len(limits) == 0 {
			if err := errors.Join(Migrate(db), MigrateStores(db)); err != nil {
				t.Fatal(err)
			}
		}
		r, err := OpenRateLimits(db, now)
		if err != nil {
			t.Fatal(err)
		}
		limits = append(limits, r)
	}
	const perInstance = 20
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for _, r := range limits {
		for range 2 {
			wg.Go(func() {
				for range perInstance / 2 {
					n, reset, err := r.Hit("/register|203.0.113.0", time.Hour, now)
					if err != nil {
						t.Error(err)
						return
					}
					if !reset.Equal(now.Add(time.Hour)) {
						t.Errorf("window ends %v, want %v", reset, now.Add(time.Hour))
					}
					mu.Lock()
					got = append(got, n)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	sort.Ints(got)
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("counts %v: want each of 1..%d once", got, len(limits)*perInstance)
		}
	}
	if len(got) != len(limits)*perInstance {
		t.Fatalf("%d counts, want %d", len(got), len(limits)*perInstance)
	}

	// Another key counts apart; a window that has ended starts again at one.
	if n, _, _ := limits[0].Hit("/register|198.51.100.0", time.Hour, now); n != 1 {
		t.Errorf("another key's first count = %d", n)
	}
	later := now.Add(time.Hour)
	n, reset, err := limits[1].Hit("/register|203.0.113.0", time.Hour, later)
	if err != nil || n != 1 || !reset.Equal(later.Add(time.Hour)) {
		t.Errorf("after the window: %d, %v, %v; want 1 and a new window", n, reset, err)
	}
	// Opening drops the windows that have ended.
	if _, err := OpenRateLimits(limits[2].db, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var left int64
	limits[2].db.Model(&RateCount{}).Count(&left)
	if left != 1 {
		t.Errorf("%d counters left after opening, want the one whose window runs", left)
	}
}
