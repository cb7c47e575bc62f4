// Package buildinfo says which Tally this is, from what the Go toolchain stamped into the
// binary: the module version, the commit and whether the tree had uncommitted changes.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info is the binary's version as `tally version` and /api/version show it.
type Info struct {
	// Version is the module version ("v1.2.3") for a binary built by `go install tally@v1.2.3`,
	// else "devel" followed by the commit when the build knew it.
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Time     string `json:"commit_time,omitempty"`
	Modified bool   `json:"modified"`
	Go       string `json:"go"`
}

// Read reads the build info of the running binary; a binary built without module support
// (never the case for `go build` here) is "unknown".
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	// `go build` in a checkout stamps "(devel)", or since Go 1.24 a pseudo-version made from
	// the commit; either way the commit says more.
	if info.Version == "" || info.Version == "(devel)" {
		info.Version = "devel"
		if info.Commit != "" {
			info.Version += " " + short(info.Commit)
		}
	}
	return info
}

// String is the one line `tally version` prints.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("tally " + i.Version)
	if i.Commit != "" && !strings.Contains(i.Version, short(i.Commit)) {
		b.WriteString(" (" + short(i.Commit) + ")")
	}
	if i.Modified {
		b.WriteString(" with uncommitted changes")
	}
	if i.Time != "" {
		b.WriteString(", committed " + i.Time)
	}
	if i.Go != "" {
		b.WriteString(", built with " + i.Go)
	}
	return b.String()
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}
