// Package static holds the embedded front-end files: vendored htmx (pinned, with its licence),
// the stylesheet, the page script (app.js) and images. The binary needs nothing from the
// working directory.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

//go:embed app.css app.js passkeys.js img vendor
var FS embed.FS

var (
	versionsOnce sync.Once
	versions     map[string]string
)

// URL is the address of an embedded file with a content hash in its query, so the file can be
// cached for a year and still change with every release.
func URL(name string) string {
	versionsOnce.Do(hashFiles)
	return "/static/" + name + "?v=" + versions[name]
}

func hashFiles() {
	versions = map[string]string{}
	_ = fs.WalkDir(FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		versions[path] = hex.EncodeToString(sum[:6])
		return nil
	})
}
