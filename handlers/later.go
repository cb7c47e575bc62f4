package handlers

import (
	"log/slog"
	"sync"
)

// laterQueue runs work after its request was answered, so the answer does not wait for it and
// its time tells nothing (the forgot and resend forms: whether an address has an account). One
// worker runs the jobs in order. The queue holds at most its size: beyond that a job is turned
// away, as the caller gave the same answer either way and the user can ask again. A job that
// fails or panics is logged, and the worker goes on.
type laterQueue struct {
	log     *slog.Logger
	jobs    chan laterJob
	mu      sync.Mutex // guards closed and sends on jobs
	closed  bool
	pending sync.WaitGroup // queued and running jobs, for wait
	done    chan struct{}  // closed when the worker has stopped
}

type laterJob struct {
	name string
	fn   func() error
}

func newLaterQueue(log *slog.Logger, size int) *laterQueue {
	q := &laterQueue{log: log, jobs: make(chan laterJob, size), done: make(chan struct{})}
	go q.run()
	return q
}

// add queues fn under name (for the log); false when the queue is full or stopped.
func (q *laterQueue) add(name string, fn func() error) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.pending.Add(1)
	select {
	case q.jobs <- laterJob{name: name, fn: fn}:
		return true
	default:
		q.pending.Done()
		return false
	}
}

func (q *laterQueue) run() {
	defer close(q.done)
	for j := range q.jobs {
		q.do(j)
		q.pending.Done()
	}
}

func (q *laterQueue) do(j laterJob) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("work after the answer panicked", "job", j.name, "panic", r)
		}
	}()
	if err := j.fn(); err != nil {
		q.log.Error("work after the answer failed", "job", j.name, "err", err)
	}
}

// wait returns once every job queued so far has run.
func (q *laterQueue) wait() { q.pending.Wait() }

// stop takes no more jobs, lets the queued ones run and returns when the worker has finished.
func (q *laterQueue) stop() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()
	<-q.done
}
