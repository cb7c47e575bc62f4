package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	// The two SQLite drivers: the pure-Go one tally.db is opened with ("sqlite") and the C one
	// of the session store ("sqlite3"). Each file is only ever opened through its own.
	_ "github.com/glebarez/go-sqlite"
	_ "github.com/mattn/go-sqlite3"
)

// Verify checks the backup at path as a restore would, without touching any data dir: every
// file is there with its checksum, tally.db passes PRAGMA integrity_check and has the row
// counts of the manifest, and sessions.db (when there) passes its integrity check.
func Verify(ctx context.Context, path string) (*Manifest, error) {
	dir, err := os.MkdirTemp(filepath.Dir(path), workPrefix)
	if err != nil {
		// A backup on read-only media is checked in the system's temporary dir.
		if dir, err = os.MkdirTemp("", workPrefix); err != nil {
			return nil, err
		}
	}
	defer os.RemoveAll(dir)
	m, err := extract(path, dir)
	if err != nil {
		return nil, err
	}
	return m, checkExtracted(ctx, dir, m)
}

// checkExtracted checks the databases extract wrote into dir.
func checkExtracted(ctx context.Context, dir string, m *Manifest) error {
	if err := checkDatabase(ctx, filepath.Join(dir, DatabaseFile), m.Tables); err != nil {
		return fmt.Errorf("%s: %w", DatabaseFile, err)
	}
	if m.Has(SessionsFile) {
		db, err := sql.Open("sqlite3", fileURI(filepath.Join(dir, SessionsFile), "mode=ro"))
		if err != nil {
			return err
		}
		defer db.Close()
		if err := integrityCheck(ctx, db); err != nil {
			return fmt.Errorf("%s: %w", SessionsFile, err)
		}
	}
	return nil
}

// checkDatabase runs PRAGMA integrity_check on the database at path and compares its row
// counts with want.
func checkDatabase(ctx context.Context, path string, want map[string]int64) error {
	db, err := openSQLite(path, "mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	if err := integrityCheck(ctx, db); err != nil {
		return err
	}
	got, err := countRows(ctx, db)
	if err != nil {
		return err
	}
	return compareCounts(got, want)
}

// integrityCheck runs PRAGMA integrity_check and returns its first findings as an error.
func integrityCheck(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check(20)")
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer rows.Close()
	var findings []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		findings = append(findings, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if len(findings) == 1 && findings[0] == "ok" {
		return nil
	}
	return fmt.Errorf("integrity check: %s", strings.Join(findings, "; "))
}

// compareCounts lists every table whose count differs, is missing or is extra.
func compareCounts(got, want map[string]int64) error {
	var diffs []string
	for t, n := range want {
		switch g, ok := got[t]; {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("table %s is missing", t))
		case g != n:
			diffs = append(diffs, fmt.Sprintf("table %s has %d rows, not %d", t, g, n))
		}
	}
	for t := range got {
		if _, ok := want[t]; !ok {
			diffs = append(diffs, fmt.Sprintf("table %s is not in the manifest", t))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	slices.Sort(diffs)
	return errors.New(strings.Join(diffs, "; "))
}

// extract unpacks the backup at path into dir, checking each file's size and checksum against
// the manifest, which must come first. Only the files a backup holds are accepted, under
// their plain names, so an archive cannot write anywhere else.
func extract(path, dir string) (*Manifest, error) {
	return walkArchive(path, func(name string, r io.Reader) error {
		out, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return err
		}
		return errors.Join(out.Sync(), out.Close())
	})
}

// readBack reads a written archive through and compares it with the manifest it was written
// with.
func readBack(path string, want *Manifest) error {
	got, err := walkArchive(path, func(string, io.Reader) error { return nil })
	if err != nil {
		return err
	}
	if !slices.Equal(got.Files, want.Files) {
		return errors.New("the manifest read back differs from the one written")
	}
	return nil
}

// manifestLimit bounds the manifest a reader accepts.
const manifestLimit = 1 << 20

// walkArchive reads the backup at path: the manifest, then each file it lists, handed to
// each (what each leaves unread is read) and then checked against the manifest's size and checksum.
func walkArchive(path string, each func(name string, r io.Reader) error) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Tally backup (not gzip): %w", path, err)
	}
	tr := tar.NewReader(gz)
	m, err := readManifest(tr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		want, ok := m.file(hdr.Name)
		if !ok || seen[hdr.Name] || hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s: unexpected entry %q", path, hdr.Name)
		}
		seen[hdr.Name] = true
		h := sha256.New()
		counted := &countingReader{r: io.TeeReader(io.LimitReader(tr, want.Size+1), h)}
		if err := each(hdr.Name, counted); err != nil {
			return nil, err
		}
		if _, err := io.Copy(io.Discard, counted); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if counted.n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
			return nil, fmt.Errorf("%s: %s does not match its checksum: the backup is damaged", path, hdr.Name)
		}
	}
	for _, f := range m.Files {
		if !seen[f.Name] {
			return nil, fmt.Errorf("%s: %s is missing: the backup is incomplete", path, f.Name)
		}
	}
	// gzip checks its own CRC at the end of the stream.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// readManifest reads the first entry, which must be the manifest of a backup this Tally reads.
func readManifest(tr *tar.Reader) (*Manifest, error) {
	hdr, err := tr.Next()
	if err != nil || hdr.Name != manifestFile {
		return nil, errors.New("not a Tally backup (no manifest first)")
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, manifestLimit)).Decode(&m); err != nil {
		return nil, fmt.Errorf("unreadable manifest: %w", err)
	}
	if m.Format != format {
		return nil, fmt.Errorf("backup format %d: this Tally reads format %d", m.Format, format)
	}
	if !m.Has(DatabaseFile) {
		return nil, fmt.Errorf("the backup has no %s", DatabaseFile)
	}
	return &m, nil
}

// ReadManifest reads only the manifest of the backup at path (cheap: it comes first).
func ReadManifest(path string) (*Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, errors.New("not a Tally backup (not gzip)")
	}
	return readManifest(tar.NewReader(gz))
}

func (m *Manifest) file(name string) (File, bool) {
	for _, f := range m.Files {
		if f.Name == name && (name == DatabaseFile || name == SessionsFile || name == SecretFile) {
			return f, true
		}
	}
	return File{}, false
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
