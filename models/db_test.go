package models

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Writes queue for the one writer connection in database/sql; reads do not wait for it.
func TestWritesQueueAndReadsRunBesideThem(t *testing.T) {
	db := openListDB(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

	// A write transaction holds the writer; a read outside it must still be answered (routed
	// to the writer, it would wait for the transaction and time out).
	tx := db.Begin()
	if err := RecordLoginFailure(tx, now, "login:held"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err := CountLoginFailures(db.WithContext(ctx), "login:held", now.Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("read beside an open write transaction: n=%d err=%v, want 0 (uncommitted) and no error", n, err)
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if err := RecordLoginFailure(db, now, "login:many"); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if st := sqlDB.Stats(); st.MaxOpenConnections != 1 || st.WaitCount == 0 {
		t.Errorf("writer pool: max open %d, waits %d; want 1 connection that writers queued for", st.MaxOpenConnections, st.WaitCount)
	}
	if n, err := CountLoginFailures(db, "login:many", now.Add(-time.Hour)); err != nil || n != 32 {
		t.Errorf("after 32 writes: n=%d err=%v", n, err)
	}
}

// Concurrent failures reaching the threshold lock a key once, without a duplicate-key error.
func TestLockIsTakenOnce(t *testing.T) {
	db := openListDB(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
	)
	for range 24 {
		wg.Go(func() {
			ok, err := Lock(db, "user:1", now, now.Add(15*time.Minute))
			if err != nil {
				t.Errorf("Lock: %v", err)
			}
			if ok {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if taken != 1 {
		t.Errorf("Lock reported a new lock %d times, want 1", taken)
	}
	if until, err := LockedUntil(db, "user:1", now); err != nil || !until.Equal(now.Add(15*time.Minute)) {
		t.Errorf("LockedUntil = %v, %v", until, err)
	}
	// An expired lock is replaced by a new one, reported once more.
	later := now.Add(time.Hour)
	if ok, err := Lock(db, "user:1", later, later.Add(15*time.Minute)); err != nil || !ok {
		t.Errorf("Lock after expiry = %v, %v; want a new lock", ok, err)
	}
}

// Close closes the writer's pool as well as the readers'.
func TestCloseClosesEveryPool(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "tally.db"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := Close(db); err != nil {
		t.Fatal(err)
	}
	if err := sqlDB.Ping(); err == nil {
		t.Error("the writer's pool still answers after Close")
	}
	var n int64
	if err := db.Model(&User{}).Count(&n).Error; err == nil {
		t.Error("a read still answers after Close")
	}
}
