package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Restored is what Restore did.
type Restored struct {
	Manifest *Manifest
	// Aside is the dir the data dir's previous files were moved into ("" when there were none),
	// Moved those files.
	Aside string
	Moved []string
	// Restored are the files put in place from the backup.
	Restored []string
}

// Restore replaces the data in dataDir with the backup at path. It refuses while a server
// holds the data dir, checks the whole backup before it changes anything, then moves the
// current files into a new dir before-restore-<time> inside dataDir (renamed, never deleted)
// and puts the backup's in their place. The sessions go aside whether or not the backup has
// some (sessions of a newer database than the backup's mean nothing); the secret only when
// the backup replaces it.
func Restore(ctx context.Context, path, dataDir string, now time.Time) (*Restored, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	lock, err := holdAlone(dataDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()

	stage, err := os.MkdirTemp(dataDir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	m, err := extract(path, stage)
	if err == nil {
		err = checkExtracted(ctx, stage, m)
	}
	if err != nil {
		return nil, fmt.Errorf("the backup failed its check, nothing was changed: %w", err)
	}

	r := &Restored{Manifest: m}
	replaced := []string{DatabaseFile, SessionsFile}
	if m.Has(SecretFile) {
		replaced = append(replaced, SecretFile)
	}
	var current []string
	for _, name := range replaced {
		// The journal files go with their database: a -wal can hold its last commits.
		for _, f := range []string{name, name + "-wal", name + "-shm", name + "-journal"} {
			if _, err := os.Lstat(filepath.Join(dataDir, f)); err == nil {
				current = append(current, f)
			}
		}
	}
	if len(current) > 0 {
		if r.Aside, err = asideDir(dataDir, now); err != nil {
			return nil, err
		}
	}
	undo := func() {
		for _, f := range r.Restored {
			_ = os.Remove(filepath.Join(dataDir, f))
		}
		for _, f := range r.Moved {
			_ = os.Rename(filepath.Join(r.Aside, f), filepath.Join(dataDir, f))
		}
	}
	for _, f := range current {
		if err := os.Rename(filepath.Join(dataDir, f), filepath.Join(r.Aside, f)); err != nil {
			undo()
			return nil, fmt.Errorf("move %s aside (the data dir is as it was): %w", f, err)
		}
		r.Moved = append(r.Moved, f)
	}
	for _, f := range m.Files {
		if err := os.Rename(filepath.Join(stage, f.Name), filepath.Join(dataDir, f.Name)); err != nil {
			undo()
			return nil, fmt.Errorf("put %s in place (the data dir is as it was): %w", f.Name, err)
		}
		r.Restored = append(r.Restored, f.Name)
	}
	if err := errors.Join(syncDir(dataDir), syncAside(r.Aside)); err != nil {
		return r, err
	}
	return r, nil
}

// asideDir makes the dir the current files move into, named after the time of the restore.
func asideDir(dataDir string, now time.Time) (string, error) {
	base := filepath.Join(dataDir, "before-restore-"+now.UTC().Format(nameTimeLayout))
	dir := base
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
		dir = fmt.Sprintf("%s-%d", base, i)
	}
}

func syncAside(dir string) error {
	if dir == "" {
		return nil
	}
	return syncDir(dir)
}
