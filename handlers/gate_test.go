package handlers

import (
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// queue submits fn as a job of client and fails the test if the gate refuses it.
func queue(t *testing.T, g *hashGate, client string, fn func()) <-chan error {
	t.Helper()
	done, err := g.submit(client, fn)
	if err != nil {
		t.Fatalf("job of %s refused: %v", client, err)
	}
	return done
}

// fillGate occupies every worker and every waiting place of g with jobs of as many clients, as
// a flood from many networks would. The jobs end when release is closed; drain returns once
// all of them ran.
func fillGate(t *testing.T, g *hashGate, release <-chan struct{}) (drain func()) {
	t.Helper()
	var dones []<-chan error
	started := make(chan struct{}, g.workers)
	for i := range g.workers {
		dones = append(dones, queue(t, g, "198.18.0."+strconv.Itoa(i), func() { started <- struct{}{}; <-release }))
	}
	for range g.workers {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the workers did not take their jobs")
		}
	}
	for i := range g.capacity {
		dones = append(dones, queue(t, g, "198.18.1."+strconv.Itoa(i), func() { <-release }))
	}
	return func() {
		for _, done := range dones {
			if err := <-done; err != nil {
				t.Errorf("a job filling the gate was refused: %v", err)
			}
		}
	}
}

// concurrently runs two jobs on g that each wait for the other to start: it returns once
// both ran side by side, or fails the test after a bound.
func concurrently(t *testing.T, g *hashGate) {
	t.Helper()
	aStarted, bStarted, done := make(chan struct{}), make(chan struct{}), make(chan struct{}, 2)
	queue(t, g, "a", func() { close(aStarted); <-bStarted; done <- struct{}{} })
	queue(t, g, "a", func() { close(bStarted); <-aStarted; done <- struct{}{} })
	for range 2 {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("two hashing jobs did not run side by side")
		}
	}
}

func waitYield(t *testing.T, yielded <-chan struct{}) {
	t.Helper()
	select {
	case <-yielded:
	case <-time.After(10 * time.Second):
		t.Fatal("the extra worker did not wait while pages were served")
	}
}

// While pages are being served, hashing leaves a core to them: every worker but one waits
// for a quiet moment before taking a job, and takes jobs again once page views stop.
func TestHashGateYieldsToPageViews(t *testing.T) {
	t.Run("no page views: every worker hashes", func(t *testing.T) {
		g := makeHashGate(2, time.Hour)
		g.start()
		defer g.stop()
		concurrently(t, g)
	})

	t.Run("page views: the extra worker waits", func(t *testing.T) {
		g := makeHashGate(2, time.Hour)
		yielded := make(chan struct{}, 1)
		g.onYield = func() { yielded <- struct{}{} }
		g.sawView()
		g.start()
		defer g.stop() // also ends the waiting worker
		waitYield(t, yielded)
		// Jobs still run, one at a time, on the first worker.
		ran := make(chan int, 3)
		for i := range 3 {
			queue(t, g, "a", func() { ran <- i })
		}
		for i := range 3 {
			if got := <-ran; got != i {
				t.Fatalf("job %d ran as number %d", got, i)
			}
		}
	})

	t.Run("page views stop: the extra worker resumes", func(t *testing.T) {
		g := makeHashGate(2, 20*time.Millisecond)
		yielded := make(chan struct{}, 1)
		g.onYield = func() { yielded <- struct{}{} }
		g.sawView()
		g.start()
		defer g.stop()
		waitYield(t, yielded)
		concurrently(t, g)
	})
}

// While pages are being served the first worker rests after each job, so hashing takes at
// most half a core; without page views it takes the next job at once.
func TestHashGateRestsWhilePagesAreServed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		views bool
	}{
		{"page views: the first worker rests", true},
		{"no page views: no rest", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := makeHashGate(1, time.Hour)
			var rests atomic.Int32
			g.onRest = func() { rests.Add(1) }
			if tc.views {
				g.sawView()
			}
			g.start()
			defer g.stop()
			// The second job runs after whatever followed the first, rest included.
			for i := range 2 {
				done := make(chan struct{})
				queue(t, g, "a", func() { close(done) })
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("job %d did not run", i+1)
				}
			}
			if got := rests.Load() >= 1; got != tc.views {
				t.Fatalf("rested after the first job: %t, want %t", got, tc.views)
			}
		})
	}
}

// GET and HEAD requests count as page views; a login POST does not.
func TestPageViewsAreSeenByTheGate(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	before := ta.h.gate.lastView.Load()
	c.get("/login")
	afterGet := ta.h.gate.lastView.Load()
	if afterGet <= before {
		t.Fatalf("GET /login did not count as a page view (%d -> %d)", before, afterGet)
	}
	c.post("/login", url.Values{"login": {"nobody"}, "password": {"wrong-password-x"}})
	if got := ta.h.gate.lastView.Load(); got != afterGet {
		t.Errorf("POST /login counted as a page view")
	}
}

// Marking a page view is on every GET: it must stay cheap.
func BenchmarkHashGateSawView(b *testing.B) {
	g := makeHashGate(2, viewQuiet)
	for b.Loop() {
		g.sawView()
	}
}
