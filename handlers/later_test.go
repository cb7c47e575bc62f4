package handlers

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"tally/testkit"
)

// The queue of work after the answer: bounded, in order, and a job that fails or panics is
// logged without stopping the ones after it.
func TestLaterQueue(t *testing.T) {
	t.Run("failures and panics are logged, later jobs still run", func(t *testing.T) {
		var logs testkit.SyncBuffer
		q := newLaterQueue(slog.New(slog.NewTextHandler(&logs, nil)), 4)
		defer q.stop()
		var ran []string
		q.add("fails", func() error { return errors.New("disk full") })
		q.add("panics", func() error { panic("boom") })
		q.add("works", func() error { ran = append(ran, "works"); return nil })
		q.wait()
		if len(ran) != 1 {
			t.Errorf("the job after a panic ran %d times", len(ran))
		}
		for _, want := range []string{`job=fails err="disk full"`, "job=panics panic=boom"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs.String())
			}
		}
	})
	t.Run("full and stopped queues turn work away", func(t *testing.T) {
		q := newLaterQueue(slog.New(slog.DiscardHandler), 2)
		running, release := make(chan struct{}), make(chan struct{})
		if !q.add("blocks", func() error { close(running); <-release; return nil }) {
			t.Fatal("an empty queue turned a job away")
		}
		<-running // the worker holds it; the queue itself is empty again
		for i := range 2 {
			if !q.add("waits", func() error { return nil }) {
				t.Fatalf("job %d of 2 turned away", i+1)
			}
		}
		if q.add("one too many", func() error { return nil }) {
			t.Error("a full queue took a job")
		}
		close(release)
		q.stop()
		if q.add("after stop", func() error { return nil }) {
			t.Error("a stopped queue took a job")
		}
	})
}
