package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"tally/testkit/testdb"

	"gorm.io/gorm"
)

// Writes queue for the one writer connection in database/sql; reads do not wait for it.
func TestWritesQueueAndReadsRunBesideThem(t *testing.T) {
	testdb.SkipOnPostgres(t, "one writer connection and a pool of readers is how SQLite is opened")
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

// Close closes the writer's pool as well as the readers' (SQLite), or the one pool (Postgres).
func TestCloseClosesEveryPool(t *testing.T) {
	db, err := Open(testdb.Target(t, t.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
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

// A sign-in's bookkeeping commits with synchronous=NORMAL; every other transaction, before,
// after and interleaved with it, still commits with FULL, and a failed one rolls back.
func TestTransactionWithoutSyncKeepsOthersDurable(t *testing.T) {
	testdb.SkipOnPostgres(t, "PRAGMA synchronous (TestTransactionWithoutSyncOnPostgres is Postgres's)")
	db := openListDB(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	// Called from the goroutines below too: t.Error, not t.Fatal.
	synchronous := func(tx *gorm.DB) int {
		t.Helper()
		level := -1
		if err := tx.Raw("PRAGMA synchronous").Scan(&level).Error; err != nil {
			t.Error(err)
		}
		return level
	}
	const normal, full = 1, 2
	writer, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				err = TransactionWithoutSync(db, func(tx *gorm.DB) error {
					if got := synchronous(tx); got != normal {
						t.Errorf("inside TransactionWithoutSync: synchronous=%d, want %d", got, normal)
					}
					return RecordLoginFailure(tx, now, "key:lazy")
				})
			} else {
				err = db.Transaction(func(tx *gorm.DB) error {
					if got := synchronous(tx); got != full {
						t.Errorf("an ordinary transaction beside it: synchronous=%d, want %d", got, full)
					}
					return RecordLoginFailure(tx, now, "key:durable")
				})
			}
			if err != nil {
				t.Errorf("transaction %d: %v", i, err)
			}
		})
	}
	wg.Wait()

	failed := errors.New("rolled back")
	err = TransactionWithoutSync(db, func(tx *gorm.DB) error {
		// Nothing else runs now: the one connection in use is the writer this one holds.
		if inUse := writer.Stats().InUse; inUse != 1 {
			t.Errorf("inside TransactionWithoutSync: %d writer connections in use, want 1 (its own)", inUse)
		}
		if err := RecordLoginFailure(tx, now, "key:lazy"); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("failing transaction: %v, want its own error", err)
	}
	for key, want := range map[string]int64{"key:lazy": 8, "key:durable": 8} {
		if n, err := CountLoginFailures(db, key, now.Add(-time.Hour)); err != nil || n != want {
			t.Errorf("%s: %d rows (err %v), want %d", key, n, err, want)
		}
	}
	if err := db.Transaction(func(tx *gorm.DB) error {
		if got := synchronous(tx); got != full {
			t.Errorf("after a failed TransactionWithoutSync: synchronous=%d, want %d", got, full)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Inserts read the new id from SQLite's last insert rowid, not INSERT … RETURNING (whose
// temporary table made the allocator map and unmap memory on every insert), and every created
// row still gets its id, one at a time or in a batch.
func TestInsertsWithoutReturning(t *testing.T) {
	testdb.SkipOnPostgres(t, "Postgres reads a new id with RETURNING; SQLite's last insert rowid does not exist there")
	db := openTestDB(t)
	u := mustCreate(t, db, "ada", "ada@example.com", "a long password 1", cheap)
	n := 0
	newEvent := func() *SecurityEvent {
		n++
		return &SecurityEvent{UserID: u.ID, CreatedAt: time.Now(), Kind: EventLoginSuccess, IP: "192.0.2.1", Detail: fmt.Sprint("event ", n)}
	}

	stmt := db.Session(&gorm.Session{DryRun: true}).Create(newEvent()).Statement
	if sql := stmt.SQL.String(); !strings.HasPrefix(sql, "INSERT") || strings.Contains(strings.ToUpper(sql), "RETURNING") {
		t.Errorf("insert statement: %s", sql)
	}

	one := newEvent()
	if err := RecordEvent(db, one); err != nil {
		t.Fatal(err)
	}
	batch := []*SecurityEvent{newEvent(), newEvent(), newEvent()}
	if err := db.Create(batch).Error; err != nil {
		t.Fatal(err)
	}
	for _, e := range append([]*SecurityEvent{one}, batch...) {
		var got SecurityEvent
		if e.ID == 0 || db.First(&got, e.ID).Error != nil || got.Detail != e.Detail {
			t.Errorf("event created with id %d; stored under it: %+v", e.ID, got)
		}
	}
	if u.ID == 0 {
		t.Error("user created without an id")
	}
}

// On Postgres a sign-in's bookkeeping commits with synchronous_commit off, for that
// transaction only: the setting is back on in the next transaction of the same connection and
// in transactions beside it, and a failed one rolls back.
func TestTransactionWithoutSyncOnPostgres(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("Postgres only: synchronous_commit")
	}
	db := openListDB(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1) // so the next transaction runs on the same connection
	setting := func(tx *gorm.DB) string {
		var v string
		if err := tx.Raw("SHOW synchronous_commit").Scan(&v).Error; err != nil {
			t.Fatal(err)
		}
		return v
	}
	failed := errors.New("rolled back")
	err = TransactionWithoutSync(db, func(tx *gorm.DB) error {
		if got := setting(tx); got != "off" {
			t.Errorf("inside TransactionWithoutSync: synchronous_commit=%s, want off", got)
		}
		if err := RecordLoginFailure(tx, now, "key:lazy"); err != nil {
			return err
		}
		return failed
	})
	if !errors.Is(err, failed) {
		t.Fatalf("failing transaction: %v, want its own error", err)
	}
	if err := TransactionWithoutSync(db, func(tx *gorm.DB) error { return RecordLoginFailure(tx, now, "key:lazy") }); err != nil {
		t.Fatal(err)
	}
	if err := Transaction(db, func(tx *gorm.DB) error {
		if got := setting(tx); got != "on" {
			t.Errorf("a transaction after it: synchronous_commit=%s, want on", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := CountLoginFailures(db, "key:lazy", now.Add(-time.Hour)); err != nil || n != 1 {
		t.Errorf("key:lazy: %d rows (err %v), want 1 (the failed transaction's rolled back)", n, err)
	}
}

// On Postgres a time of any zone is kept to the microsecond and read back in UTC, whatever the
// machine's zone. (SQLite keeps the text it was given, zone and nanoseconds; Tally's clocks are
// UTC.)
func TestTimesComeBackInUTC(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("Postgres only: SQLite keeps a time's zone as written")
	}
	db := openTestDB(t)
	u := mustCreate(t, db, "ada", "ada@example.com", "a long password 1", cheap)
	at := time.Date(2026, 11, 23, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	e := SecurityEvent{UserID: u.ID, CreatedAt: at, Kind: EventLoginSuccess, IP: "192.0.2.1"}
	if err := RecordEvent(db, &e); err != nil {
		t.Fatal(err)
	}
	var got SecurityEvent
	if err := db.First(&got, e.ID).Error; err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("created_at read back in %v, want UTC", got.CreatedAt.Location())
	}
	if want := at.Truncate(time.Microsecond); !got.CreatedAt.Equal(want) {
		t.Errorf("created_at = %v, want %v", got.CreatedAt, want)
	}
	var n int64
	if err := db.Model(&SecurityEvent{}).Where("created_at >= ?", at.Truncate(time.Microsecond)).Count(&n).Error; err != nil || n != 1 {
		t.Errorf("rows at or after the time written: %d (%v), want 1", n, err)
	}
}

// An error opening Postgres names the server without the password of its URL.
func TestOpenPostgresErrorHidesThePassword(t *testing.T) {
	_, err := Open("postgres://tally:hunter2-secret@127.0.0.1:1/tally?sslmode=disable&connect_timeout=2",
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("the error does not name the server: %v", err)
	}
}
