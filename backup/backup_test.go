package backup_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/backup"
	"tally/models"
	"tally/models/ledger"
	"tally/testkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openData opens dir's tally.db as the server does, with the schema in place.
func openData(t testing.TB, dir string) *gorm.DB {
	t.Helper()
	db, err := models.Open(filepath.Join(dir, backup.DatabaseFile), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(db) })
	if err := errors.Join(models.Migrate(db), ledger.Migrate(db)); err != nil {
		t.Fatal(err)
	}
	return db
}

// dataDir is a data dir with a user, an account, a secret and a session store.
func dataDir(t testing.TB) (string, *gorm.DB, *ledger.Book, uint) {
	t.Helper()
	dir := t.TempDir()
	db := openData(t, dir)
	u := testkit.CreateUser(t, db, models.NewUser{Username: "ada", Email: "ada@example.com"}, testkit.Password, time.Now())
	book, err := ledger.For(db, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := book.CreateAccount(ledger.AccountInput{Name: "Checking", Kind: "checking", Currency: "USD", OpeningDate: "2026-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, backup.SecretFile), []byte(strings.Repeat("k", 64)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sessions, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, backup.SessionsFile)+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer sessions.Close()
	if _, err := sessions.Exec(`CREATE TABLE fiber_storage (k TEXT PRIMARY KEY, v BLOB); INSERT INTO fiber_storage VALUES ('a', x'01'), ('b', x'02')`); err != nil {
		t.Fatal(err)
	}
	return dir, db, book, acct.ID
}

func TestBackupUnderWriteLoadRestoresEveryAcknowledgedRow(t *testing.T) {
	dir, db, book, account := dataDir(t)
	ctx := context.Background()

	// Writers add transactions through the ledger as the register does, each remembering the
	// ids whose insert was acknowledged (committed).
	var (
		mu      sync.Mutex
		acked   []uint
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		warm    = make(chan struct{}) // closed once 40 rows are in
		resumed = make(chan struct{}) // closed at the first row after the backup
		after   bool
		errs    = make(chan error, 4)
	)
	var warmOnce, resumedOnce sync.Once
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				row, err := book.AddTransaction(ledger.TxInput{AccountID: account, Date: "2026-11-20", Payee: fmt.Sprintf("writer %d row %d", w, i), Amount: -int64(100 + i)})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked = append(acked, row.ID)
				n, a := len(acked), after
				mu.Unlock()
				if n >= 40 {
					warmOnce.Do(func() { close(warm) })
				}
				if a {
					resumedOnce.Do(func() { close(resumed) })
				}
			}
		}()
	}
	select {
	case <-warm:
	case err := <-errs:
		t.Fatal(err)
	}
	mu.Lock()
	before := slices.Clone(acked)
	mu.Unlock()

	dest := filepath.Join(t.TempDir(), "b.tar.gz")
	m, err := backup.Create(ctx, backup.Source{DataDir: dir, DB: db, Version: "test"}, dest)
	mu.Lock()
	after = true
	mu.Unlock()
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	// The writers were held only while the copy was made: they go on afterwards.
	select {
	case <-resumed:
	case err := <-errs:
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if !m.Verified || m.Secret != "file" || m.Has(backup.SessionsFile) {
		t.Errorf("manifest = %+v", m)
	}

	fresh := filepath.Join(t.TempDir(), "data")
	r, err := backup.Restore(ctx, dest, fresh, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Aside != "" || !slices.Equal(r.Restored, []string{backup.DatabaseFile, backup.SecretFile}) {
		t.Errorf("restore into a fresh dir: %+v", r)
	}
	restored := openData(t, fresh)
	rbook, _ := ledger.For(restored, 1)
	for _, id := range before {
		if _, err := rbook.Transaction(id); err != nil {
			t.Fatalf("transaction %d, acknowledged before the backup began, is not in the restored data: %v", id, err)
		}
	}
	var n int64
	if err := restored.Table("transactions").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != m.Tables["transactions"] || n < int64(len(before)) {
		t.Errorf("restored %d transactions; the manifest says %d, %d were acknowledged before", n, m.Tables["transactions"], len(before))
	}
	secret, _ := os.ReadFile(filepath.Join(fresh, backup.SecretFile))
	if string(secret) != strings.Repeat("k", 64)+"\n" {
		t.Errorf("secret not restored: %q", secret)
	}
}

func TestBackupWithSessionsAndRestoreMovesCurrentDataAside(t *testing.T) {
	dir, db, book, account := dataDir(t)
	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "with-sessions.tar.gz")
	m, err := backup.Create(ctx, backup.Source{DataDir: dir, DB: db, Sessions: true}, dest)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Has(backup.SessionsFile) {
		t.Fatalf("no sessions in %+v", m.Files)
	}
	if _, err := backup.Create(ctx, backup.Source{DataDir: dir, DB: db}, dest); err == nil {
		t.Error("Create replaced an existing file")
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode: %v %v", fi, err)
	}
	// A row made after the backup is what the restore takes away (and keeps aside).
	later, err := book.AddTransaction(ledger.TxInput{AccountID: account, Date: "2026-11-21", Payee: "after the backup", Amount: -5})
	if err != nil {
		t.Fatal(err)
	}
	models.Close(db)

	now := time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)
	r, err := backup.Restore(ctx, dest, dir, now)
	if err != nil {
		t.Fatal(err)
	}
	wantAside := filepath.Join(dir, "before-restore-20261124T101500Z")
	if r.Aside != wantAside {
		t.Errorf("aside = %q, want %q", r.Aside, wantAside)
	}
	for _, f := range []string{backup.DatabaseFile, backup.SessionsFile, backup.SecretFile} {
		if !slices.Contains(r.Moved, f) || !slices.Contains(r.Restored, f) {
			t.Errorf("%s: moved %v, restored %v", f, r.Moved, r.Restored)
		}
		if _, err := os.Stat(filepath.Join(wantAside, f)); err != nil {
			t.Errorf("%s was not kept aside: %v", f, err)
		}
	}
	// The data kept aside is whole, with the row the restore took away.
	old := openData(t, wantAside)
	oldBook, _ := ledger.For(old, 1)
	if _, err := oldBook.Transaction(later.ID); err != nil {
		t.Errorf("the data kept aside lacks the newest row: %v", err)
	}
	restored := openData(t, dir)
	rbook, _ := ledger.For(restored, 1)
	if _, err := rbook.Transaction(later.ID); err == nil {
		t.Error("the restored data has a row made after the backup")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".restore-*"))
	if len(leftovers) != 0 {
		t.Errorf("leftovers: %v", leftovers)
	}
}

func TestRestoreRefusesWhileAServerHoldsTheDataDir(t *testing.T) {
	dir, db, _, _ := dataDir(t)
	dest := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := backup.Create(context.Background(), backup.Source{DataDir: dir, DB: db}, dest); err != nil {
		t.Fatal(err)
	}
	hold, err := backup.HoldDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := backup.HoldDataDir(dir) // a restarted server in the same process
	if err != nil {
		t.Fatal(err)
	}
	_, err = backup.Restore(context.Background(), dest, dir, time.Now())
	if !errors.Is(err, backup.ErrInUse) || !strings.Contains(err.Error(), "server is running") {
		t.Fatalf("restore beside a server: %v", err)
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, "before-restore-*")); len(aside) != 0 {
		t.Errorf("a refused restore moved files: %v", aside)
	}
	hold.Release()
	second.Release()
	models.Close(db)
	if _, err := backup.Restore(context.Background(), dest, dir, time.Now()); err != nil {
		t.Fatalf("restore once the server is gone: %v", err)
	}
}

func TestVerifyCatchesDamagedBackups(t *testing.T) {
	dir, db, _, _ := dataDir(t)
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	if _, err := backup.Create(context.Background(), backup.Source{DataDir: dir, DB: db, Sessions: true}, good); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(context.Background(), good); err != nil {
		t.Fatalf("a good backup: %v", err)
	}
	for _, tc := range []struct {
		name string
		// change rewrites one file of the archive; fixSums recomputes the manifest's
		// checksums, as damage made before packing would leave them.
		change  func(t *testing.T, name string, b []byte) []byte
		fixSums bool
		want    string
	}{
		{"a flipped byte", flipByte(backup.DatabaseFile), false, "does not match its checksum"},
		{"a damaged page in the copy", trashLastPage, true, "integrity check"},
		{"a row missing from the copy", deleteRow, true, "users has 0 rows, not 1"},
		{"damaged sessions", trashSessions, true, "sessions.db"},
		{"a truncated file", func(t *testing.T, name string, b []byte) []byte {
			if name == backup.SecretFile {
				return b[:10]
			}
			return b
		}, false, "does not match its checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.tar.gz")
			rewriteArchive(t, good, bad, tc.change, tc.fixSums)
			_, err := backup.Verify(context.Background(), bad)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v, want %q", err, tc.want)
			}
			// Restore checks the same way and changes nothing.
			target := t.TempDir()
			if _, err := backup.Restore(context.Background(), bad, target, time.Now()); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("Restore = %v", err)
			}
			if entries, _ := os.ReadDir(target); len(entries) != 1 || entries[0].Name() != backup.LockFile {
				t.Errorf("a refused restore left %v", entries)
			}
		})
	}
	t.Run("not a backup", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "x.tar.gz")
		os.WriteFile(other, []byte("hello"), 0o600)
		if _, err := backup.Verify(context.Background(), other); err == nil || !strings.Contains(err.Error(), "not a Tally backup") {
			t.Fatalf("Verify = %v", err)
		}
	})
}

func flipByte(file string) func(*testing.T, string, []byte) []byte {
	return func(_ *testing.T, name string, b []byte) []byte {
		if name == file {
			b[len(b)/2] ^= 0xff
		}
		return b
	}
}

// trashLastPage overwrites the last page of tally.db, a page of some table's b-tree.
func trashLastPage(_ *testing.T, name string, b []byte) []byte {
	if name == backup.DatabaseFile {
		for i := len(b) - 4096 + 8; i < len(b); i++ {
			b[i] = 0x5a
		}
	}
	return b
}

func trashSessions(_ *testing.T, name string, b []byte) []byte {
	if name == backup.SessionsFile {
		for i := len(b) - 4096 + 8; i < len(b); i++ {
			b[i] = 0x5a
		}
	}
	return b
}

// deleteRow deletes the one user from the copy, which stays a sound database.
func deleteRow(t *testing.T, name string, b []byte) []byte {
	if name != backup.DatabaseFile {
		return b
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA foreign_keys = OFF; DELETE FROM users"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rewriteArchive copies the backup src to dst, passing each file through change.
func rewriteArchive(t *testing.T, src, dst string, change func(*testing.T, string, []byte) []byte, fixSums bool) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var manifest map[string]any
	var names []string
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if hdr.Name == "manifest.json" {
			json.Unmarshal(b, &manifest)
			continue
		}
		names = append(names, hdr.Name)
		files[hdr.Name] = change(t, hdr.Name, b)
	}
	if fixSums {
		for _, fm := range manifest["files"].([]any) {
			m := fm.(map[string]any)
			b := files[m["name"].(string)]
			sum := sha256.Sum256(b)
			m["sha256"], m["size"] = hex.EncodeToString(sum[:]), len(b)
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	mb, _ := json.Marshal(manifest)
	put := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	put("manifest.json", mb)
	for _, n := range names {
		put(n, files[n])
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(dst, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
