// Package backup makes, checks and restores copies of a data dir: tally.db copied online with
// VACUUM INTO while the server keeps serving, the secret, and on request the sessions, in one
// .tar.gz whose manifest lists every file's checksum and every table's row count.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The files of a data dir a backup holds, under the same names in the archive.
const (
	DatabaseFile = "tally.db"
	SessionsFile = "sessions.db"
	SecretFile   = "secret.key"
	// LockFile is held by every server on the data dir (see HoldDataDir).
	LockFile = "tally.lock"

	manifestFile = "manifest.json"
	format       = 1
)

// Manifest is the first file of every backup: what it holds and what it was checked against.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Version is the Tally that made the backup (buildinfo).
	Version string `json:"version"`
	Files   []File `json:"files"`
	// Tables is the row count of each table of tally.db when the copy was made.
	Tables map[string]int64 `json:"tables"`
	// Verified says the copy passed PRAGMA integrity_check and had Tables' row counts before
	// it was packed; every file's checksum was then read back from the written archive.
	Verified bool `json:"verified"`
	// Secret is "file" when secret.key is in the backup, "environment" when the data dir had
	// none (TALLY_SECRET set it), which then must be kept with the backup.
	Secret string `json:"secret"`
}

// File is one file of a backup.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Has says whether the backup holds the named file.
func (m *Manifest) Has(name string) bool {
	for _, f := range m.Files {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Rows is the number of rows in every table together.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, c := range m.Tables {
		n += c
	}
	return n
}

// Source is what a backup is made from.
type Source struct {
	DataDir string
	// DB is the process's handle on DataDir's tally.db (models.Open). Its one writer
	// connection is held while the copy is made, so that the row counts taken beside the copy
	// are those of the copy's snapshot (see copyDatabase).
	DB *gorm.DB
	// Sessions adds sessions.db; without it, a restore signs everyone out.
	Sessions bool
	Version  string
	Now      func() time.Time
}

// Create writes a backup of src to dest, a new .tar.gz file (it refuses to replace one), and
// returns its manifest. The copy is checked before it is packed and the archive read back
// after: a backup Create returns is whole, and a failed one leaves no file at dest.
func Create(ctx context.Context, src Source, dest string) (*Manifest, error) {
	if src.Now == nil {
		src.Now = func() time.Time { return time.Now().UTC() }
	}
	if _, err := os.Lstat(dest); err == nil {
		return nil, fmt.Errorf("%s exists already", dest)
	}
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The copies are made beside the archive: the backup dir is writable (the data dir's
	// filesystem may be full, and /tmp may be small or in memory).
	work, err := os.MkdirTemp(dir, workPrefix)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	m := &Manifest{Format: format, Created: src.Now().UTC().Truncate(time.Second), Version: src.Version, Secret: "environment"}
	if m.Tables, err = copyDatabase(ctx, src, filepath.Join(work, DatabaseFile)); err != nil {
		return nil, fmt.Errorf("copy %s: %w", DatabaseFile, err)
	}
	if err := checkDatabase(ctx, filepath.Join(work, DatabaseFile), m.Tables); err != nil {
		return nil, fmt.Errorf("the copy of %s failed its check: %w", DatabaseFile, err)
	}
	names := []string{DatabaseFile}
	if src.Sessions {
		if err := copySessions(ctx, filepath.Join(src.DataDir, SessionsFile), filepath.Join(work, SessionsFile)); err != nil {
			return nil, fmt.Errorf("copy %s: %w", SessionsFile, err)
		}
		names = append(names, SessionsFile)
	}
	switch err := copyFile(filepath.Join(src.DataDir, SecretFile), filepath.Join(work, SecretFile)); {
	case err == nil:
		m.Secret = "file"
		names = append(names, SecretFile)
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	for _, name := range names {
		f, err := describe(filepath.Join(work, name))
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, f)
	}
	m.Verified = true
	if err := writeArchive(dest, work, m); err != nil {
		return nil, err
	}
	if err := readBack(dest, m); err != nil {
		_ = os.Remove(dest)
		return nil, fmt.Errorf("the written backup does not read back: %w", err)
	}
	return m, nil
}

// workPrefix names the temporary dirs of Create beside its archives (Prune removes stale ones).
const workPrefix = ".tally-backup-"

// copyDatabase copies tally.db into target with VACUUM INTO on a read connection of its own,
// and returns the row count of each table at the copy's snapshot.
//
// VACUUM INTO cannot run inside a transaction, so the counts cannot share its snapshot.
// Instead, the writer is held still for the few moments the counts and the copy take: the
// process's one writer connection is taken (this process's writers queue for it in
// database/sql, parking goroutines) and opens an IMMEDIATE transaction (another process's
// writers wait in their busy timeout). Readers go on; nothing is written meanwhile, so the
// counts are the copy's. A write acknowledged before Create began is in the copy.
func copyDatabase(ctx context.Context, src Source, target string) (map[string]int64, error) {
	read, err := openSQLite(filepath.Join(src.DataDir, DatabaseFile), "mode=ro", "_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	defer read.Close()
	writers, err := src.DB.DB()
	if err != nil {
		return nil, err
	}
	w, err := writers.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	if _, err := w.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("hold the writers: %w", err)
	}
	defer func() {
		if _, err := w.ExecContext(context.Background(), "ROLLBACK"); err != nil {
			// A connection left inside a transaction must not go back to the pool.
			_ = w.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	counts, err := countRows(ctx, read)
	if err != nil {
		return nil, err
	}
	if testHookCopying != nil {
		testHookCopying()
	}
	if _, err := read.ExecContext(ctx, "VACUUM INTO ?", target); err != nil {
		return nil, err
	}
	return counts, nil
}

// testHookCopying runs between the counts and the copy in tests.
var testHookCopying func()

// copySessions copies sessions.db with VACUUM INTO through the C SQLite that serves it (two
// SQLite libraries on one file lose each other's locks) and checks the copy's integrity.
// The server rewrites the file's sessions constantly; their count proves nothing.
func copySessions(ctx context.Context, path, target string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", fileURI(path, "mode=ro", "_busy_timeout=5000"))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", target); err != nil {
		return err
	}
	cp, err := sql.Open("sqlite3", fileURI(target, "mode=ro"))
	if err != nil {
		return err
	}
	defer cp.Close()
	return integrityCheck(ctx, cp)
}

// copyFile copies a small file (the secret) with mode 0600.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// describe is the manifest's line for a file.
func describe(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, err
	}
	return File{Name: filepath.Base(path), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// writeArchive packs the manifest and then m.Files from dir into dest: written under another
// name, synced, and renamed into place, so dest is either whole or absent. It is readable by
// its owner only: it holds the secret.
func writeArchive(dest, dir string, m *Manifest) (err error) {
	part := dest + ".part"
	out, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(part)
		}
	}()
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Name: manifestFile, Mode: 0o600, Size: int64(len(manifest)), ModTime: m.Created, Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	for _, f := range m.Files {
		if err := addFile(tw, filepath.Join(dir, f.Name), f, m.Created); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Rename(part, dest); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dest))
}

func addFile(tw *tar.Writer, path string, f File, mtime time.Time) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o600, Size: f.Size, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, in, f.Size)
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// openSQLite opens a database file through the pure-Go SQLite that tally.db is always opened
// with, on one connection.
func openSQLite(path string, params ...string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", fileURI(path, params...))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// fileURI is an SQLite URI for path; the characters a URI gives meaning to are escaped.
func fileURI(path string, params ...string) string {
	path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	if len(params) == 0 {
		return "file:" + path
	}
	return "file:" + path + "?" + strings.Join(params, "&")
}

// countRows counts the rows of every table of db (SQLite's own tables aside).
func countRows(ctx context.Context, db *sql.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, nil
}
