package main

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"tally/testkit"
	"tally/testkit/testdb"
)

// With TALLY_DRAIN a stopping server keeps its port open for the drain, /readyz answering 503
// "shutting down" (a proxy's health check sees it), then stops.
func TestRunDrainsBeforeClosing(t *testing.T) {
	dir := t.TempDir()
	addr := testkit.FreeAddr(t)
	env := map[string]string{"TALLY_ADDR": addr, "TALLY_DATA_DIR": dir, "TALLY_DRAIN": "2s",
		"TALLY_SECRET": "drain-test-secret-0123456789abcdef0123456789"}
	if testdb.Postgres() {
		env["TALLY_DATABASE_URL"] = testdb.Target(t, dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, nil, io.Discard, &stderr) }()

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	readyz := func() (int, string, error) {
		res, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, "", err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return res.StatusCode, string(b), err
	}
	// until polls /readyz until ok says so, failing if run returns first or after 20 s.
	until := func(what string, ok func(code int, body string, err error) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			code, body, err := readyz()
			if ok(code, body, err) {
				return
			}
			select {
			case err := <-done:
				t.Fatalf("%s: run returned %v first (last answer %d %q, %v)\n%s", what, err, code, body, err, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20 s (last answer %d %q, %v)", what, code, body, err)
			}
			time.Sleep(10 * time.Millisecond) // polling interval, bounded by the deadline
		}
	}
	until("ready", func(code int, _ string, err error) bool { return err == nil && code == http.StatusOK })

	cancel()
	until("draining", func(code int, body string, err error) bool {
		if err != nil {
			t.Fatalf("the port refused /readyz before the drain was over: %v", err)
		}
		return code == http.StatusServiceUnavailable && body == "shutting down"
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the drain")
	}
	if _, _, err := readyz(); err == nil {
		t.Error("the port still answers after run returned")
	}
}
