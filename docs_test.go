package main

import (
	"bufio"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tally/testkit"
)

// The documentation and the configuration must name the same settings: the README's
// Configuration table exactly the TALLY_ variables config reads, docs/deploy.md none that it
// does not, and the unit in docs/deploy.md must start Tally as it is.

var tallyName = regexp.MustCompile(`^TALLY_[A-Z0-9_]+$`)

// configNames are the TALLY_ variables the config package reads: every string literal of its
// source (tests aside) that is exactly such a name. Names inside messages do not count.
func configNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("config/*.go")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && tallyName.MatchString(s) {
					set[s] = true
				}
			}
			return true
		})
	}
	return sortedKeys(set)
}

// readmeNames are the first cells of the README's Configuration table that are TALLY_ names.
func readmeNames(t *testing.T) []string {
	t.Helper()
	section := markdownSection(t, "README.md", "## Configuration")
	set := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		if tallyName.MatchString(name) {
			if set[name] {
				t.Errorf("README: %s has two rows", name)
			}
			set[name] = true
		}
	}
	return sortedKeys(set)
}

// markdownSection is the text of path from heading to the next heading of its level.
func markdownSection(t *testing.T, path, heading string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q", path, heading)
	}
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if i := strings.Index(rest, "\n"+level); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func deployDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// unit is the systemd unit of docs/deploy.md: its Environment= settings and every other line.
func unit(t *testing.T) (env map[string]string, lines []string) {
	t.Helper()
	doc := deployDoc(t)
	for _, block := range strings.Split(doc, "```ini\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if !strings.Contains(block, "[Service]") {
			continue
		}
		env = map[string]string{}
		for _, line := range strings.Split(block, "\n") {
			if kv, ok := strings.CutPrefix(line, "Environment="); ok {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			lines = append(lines, line)
		}
		return env, lines
	}
	t.Fatal("docs/deploy.md has no systemd unit")
	return nil, nil
}

func TestDocumentedSettingsAreTheOnesConfigReads(t *testing.T) {
	names := configNames(t)
	for _, must := range []string{"TALLY_ADDR", "TALLY_SECRET", "TALLY_BACKUP_DIR", "TALLY_METRICS_TOKEN"} {
		if !slices.Contains(names, must) {
			t.Fatalf("the config's names were not found (%s missing from %v)", must, names)
		}
	}
	readme := readmeNames(t)
	for _, n := range names {
		if !slices.Contains(readme, n) {
			t.Errorf("README's Configuration table lacks %s, which config reads", n)
		}
	}
	for _, n := range readme {
		if !slices.Contains(names, n) {
			t.Errorf("README's Configuration table documents %s, which config does not read", n)
		}
	}
	for _, n := range regexp.MustCompile(`TALLY_[A-Z0-9_]*[A-Z0-9]`).FindAllString(deployDoc(t), -1) {
		if !slices.Contains(names, n) {
			t.Errorf("docs/deploy.md names %s, which config does not read", n)
		}
	}
	env, lines := unit(t)
	for k := range env {
		if !slices.Contains(names, k) {
			t.Errorf("the unit sets %s, which config does not read", k)
		}
	}
	// The hardening the unit promises, and the dirs Tally writes are the ones it may write.
	for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "User=tally"} {
		if !slices.Contains(lines, want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	var writable []string
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "ReadWritePaths="); ok {
			writable = append(writable, strings.Fields(v)...)
		}
	}
	for _, k := range []string{"TALLY_DATA_DIR", "TALLY_BACKUP_DIR"} {
		if !slices.Contains(writable, env[k]) {
			t.Errorf("%s=%s is not among ReadWritePaths %v", k, env[k], writable)
		}
	}
}

// TestServerStartsAsTheUnitDoes runs Tally with the unit's environment and nothing else (the
// dirs and the port moved to the test's), as systemd starts it.
func TestServerStartsAsTheUnitDoes(t *testing.T) {
	env, _ := unit(t)
	addr := testkit.FreeAddr(t)
	env["TALLY_DATA_DIR"] = filepath.Join(t.TempDir(), "data")
	env["TALLY_BACKUP_DIR"] = filepath.Join(t.TempDir(), "backups")
	env["TALLY_ADDR"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	var stderr testkit.SyncBuffer
	stdoutR, stdout := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, nil, func(k string) string { return env[k] }, nil, stdout, &stderr)
		stdout.Close()
		done <- err
	}()
	out := bufio.NewReader(stdoutR)
	banner, err := out.ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v\n%s", err, stderr.String())
	}
	if want := "Tally is running at " + env["TALLY_BASE_URL"] + "\n"; banner != want {
		t.Errorf("banner = %q, want %q", banner, want)
	}
	// A fresh data dir has no superuser: the setup link comes next, on the public URL.
	setup, err := out.ReadString('\n')
	if err != nil || !strings.Contains(setup, env["TALLY_BASE_URL"]+"/setup?token=") {
		t.Errorf("setup line = %q (%v)", setup, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdoutR) }()

	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK, "/metrics": http.StatusNotFound} {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s = %d, want %d", path, res.StatusCode, want)
		}
	}
	if !strings.Contains(stderr.String(), `"level":"INFO","msg":"tally is running"`) {
		t.Errorf("the log is not prod's JSON:\n%s", stderr.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not shut down")
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
