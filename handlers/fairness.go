package handlers

import (
	"log/slog"
	"slices"
	"sync"
	"time"
)

// fairQueue holds the hash gate's waiting jobs, one line per client, so that hash work is
// shared between clients rather than taken in order of arrival. Every request that spends a
// hash (a login whatever its outcome, a registration, a password confirmation) queues in its
// client's line; its outcome plays no part, so a client cannot buy unlimited hashes with right
// passwords or unconfirmed accounts.
//
//   - A free worker serves the client with the fewest jobs running, among equals the one served
//     least recently: a newcomer's job runs as soon as a worker is free, however long a
//     flooder's line.
//   - When every place is taken, a newcomer pushes out the newest job of the client holding the
//     most places, as long as that client would still hold more than the newcomer (that job is
//     answered 429).
//   - Otherwise a client that already has jobs waiting is over its share: its request waits
//     for a place (up to overShareWait, and at most capacity such requests per client), else
//     gets 429. Waiting rather than refusing at once keeps a flood's threads asleep: refused at
//     once, they came straight back and their refusals took the CPU the hashes needed.
//   - A client with nothing waiting, when the places are spread over clients holding no more
//     than it would, gets 503 at once: the whole gate is busy.
//
// The queue is work-conserving: a client alone may fill it (the benchmark logs in from one
// address at the hash limit), and it gives way as soon as anyone else needs a hash.
type fairQueue struct {
	mu       sync.Mutex
	clients  map[string]*hashClient // clients with jobs waiting or running, or requests asleep
	turns    []*hashClient          // clients with jobs waiting
	waiting  int                    // jobs waiting, every client's
	capacity int                    // most jobs waiting at once
	asleep   []chan struct{}        // requests over their share waiting for a place, oldest first
	wait     time.Duration          // how long they wait: overShareWait (tests shorten it)
	taken    uint64                 // jobs taken by workers so far
	closed   bool
	onSleep  func() // tests: called (q.mu held) when a request goes to sleep
}

// overShareWait bounds how long a request over its client's share waits for a place: with 8
// jobs per worker waiting, a place normally frees within a few hashes, and a login that takes
// longer than a second or so is better answered "try again".
const overShareWait = time.Second

// hashClient is one client's line, its jobs on workers and its requests asleep.
type hashClient struct {
	key     string
	waiting []*hashJob
	running int
	asleep  int
	served  uint64 // the queue's taken count when a job of this client was last taken
}

// hashJob is one hash to compute; done receives nil once it ran, or its refusal.
type hashJob struct {
	fn     func()
	client *hashClient
	done   chan error
}

func makeFairQueue(capacity int) fairQueue {
	return fairQueue{clients: map[string]*hashClient{}, capacity: capacity, wait: overShareWait}
}

// add puts job at the end of client's line, after waiting for a place if client is over its
// share. When the queue is full it pushes out another client's newest job and returns it (it
// now has to be answered), or it refuses job.
func (q *fairQueue) add(client string, job *hashJob) (pushedOut *hashJob, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.waitForPlace(client); err != nil {
		q.forget(client)
		return nil, err
	}
	if q.waiting == q.capacity {
		pushedOut = q.popNewest(q.largest())
	}
	cl := q.client(client)
	if len(cl.waiting) == 0 {
		q.turns = append(q.turns, cl)
	}
	job.client = cl
	cl.waiting = append(cl.waiting, job)
	q.waiting++
	return pushedOut, nil
}

// admit returns once a job of client would be taken (nil) or with its refusal, waiting for a
// place like add does; handlers call it before any other work for a request that will need a
// hash, so a refusal costs next to nothing.
func (q *fairQueue) admit(client string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.forget(client)
	return q.waitForPlace(client)
}

// waitForPlace returns nil when a job of client would be taken now. A client over its share
// sleeps until a job leaves the queue (a worker took it) and tries again, up to overShareWait;
// every other refusal is immediate. q.mu is held, and released while asleep.
func (q *fairQueue) waitForPlace(client string) error {
	var deadline <-chan time.Time
	for {
		if q.closed {
			return errBusy
		}
		err := q.refusal(client)
		if err != errOverShare {
			return err
		}
		cl := q.clients[client] // over its share: it has jobs waiting
		if cl.asleep >= q.capacity {
			return err
		}
		if deadline == nil {
			t := time.NewTimer(q.wait)
			defer t.Stop()
			deadline = t.C
		}
		wake := make(chan struct{}, 1)
		q.asleep = append(q.asleep, wake)
		cl.asleep++
		if q.onSleep != nil {
			q.onSleep()
		}
		q.mu.Unlock()
		timedOut := false
		select {
		case <-wake:
		case <-deadline:
			timedOut = true
		}
		q.mu.Lock()
		cl.asleep--
		if timedOut {
			if i := slices.Index(q.asleep, wake); i >= 0 {
				q.asleep = slices.Delete(q.asleep, i, i+1)
			} else {
				q.wakeOne() // woken as the time ran out: the place goes to the next sleeper
			}
			if err := q.refusal(client); err != nil {
				return err
			}
		}
	}
}

// refusal is the answer a job of client would get now: nil when it would be taken.
func (q *fairQueue) refusal(client string) error {
	if q.waiting < q.capacity {
		return nil
	}
	mine := 0
	if cl := q.clients[client]; cl != nil {
		mine = len(cl.waiting)
	}
	if len(q.largest().waiting) > mine+1 {
		return nil // it would push out a job of a client holding more
	}
	if mine > 0 {
		return errOverShare
	}
	return errBusy
}

// client is the entry of client, created when missing.
func (q *fairQueue) client(key string) *hashClient {
	cl := q.clients[key]
	if cl == nil {
		cl = &hashClient{key: key}
		q.clients[key] = cl
	}
	return cl
}

// forget drops the entry of a client with nothing waiting, running or asleep.
func (q *fairQueue) forget(key string) {
	if cl := q.clients[key]; cl != nil && cl.running == 0 && cl.asleep == 0 && len(cl.waiting) == 0 {
		delete(q.clients, key)
	}
}

// largest is the client with the most jobs waiting (the queue must not be empty).
func (q *fairQueue) largest() *hashClient {
	return slices.MaxFunc(q.turns, func(a, b *hashClient) int { return len(a.waiting) - len(b.waiting) })
}

// popNewest takes the newest waiting job of cl, which has two at least, out of the queue.
func (q *fairQueue) popNewest(cl *hashClient) *hashJob {
	last := len(cl.waiting) - 1
	job := cl.waiting[last]
	cl.waiting[last] = nil
	cl.waiting = cl.waiting[:last]
	q.waiting--
	return job
}

// next takes the job a free worker runs: the first job of the waiting client with the fewest
// jobs running, among equals the one served least recently. It returns nil when none waits.
func (q *fairQueue) next() *hashJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	var cl *hashClient
	at := -1
	for i, t := range q.turns {
		if cl == nil || t.running < cl.running || (t.running == cl.running && t.served < cl.served) {
			cl, at = t, i
		}
	}
	if cl == nil {
		return nil
	}
	job := cl.waiting[0]
	cl.waiting[0] = nil
	cl.waiting = cl.waiting[1:]
	if len(cl.waiting) == 0 {
		q.turns = slices.Delete(q.turns, at, at+1)
	}
	q.taken++
	cl.running, cl.served = cl.running+1, q.taken
	q.waiting--
	q.wakeOne() // a place is free
	return job
}

// wakeOne wakes the request that has slept longest, if any.
func (q *fairQueue) wakeOne() {
	if len(q.asleep) > 0 {
		q.asleep[0] <- struct{}{}
		q.asleep = q.asleep[1:]
	}
}

// finished records that job ran.
func (q *fairQueue) finished(job *hashJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	job.client.running--
	q.forget(job.client.key)
}

// close refuses every later job, wakes every sleeping request (to be refused) and returns the
// jobs still waiting, for the caller to answer.
func (q *fairQueue) close() []*hashJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for len(q.asleep) > 0 {
		q.wakeOne()
	}
	var jobs []*hashJob
	for _, cl := range q.turns {
		jobs = append(jobs, cl.waiting...)
		cl.waiting = nil
	}
	q.turns, q.waiting = nil, 0
	return jobs
}

// refusalReportEvery is how often refusals are summed up in the log: a flood is refused
// thousands of times a second, and each refusal is the gate working, not a failure, so one
// line per refusal would bury everything else (issue 21 counted 17,694 ERROR lines in 10 s).
const refusalReportEvery = 10 * time.Second

// maxCountedClients bounds the set of refused clients kept between reports (an IPv6 flood can
// come from many networks); beyond it the count is a lower bound.
const maxCountedClients = 10000

// refusalLog counts the gate's refusals (429 and 503) and logs them as one WARN line per
// period in which there were any.
type refusalLog struct {
	log      *slog.Logger // nil: counted, never logged
	mu       sync.Mutex
	requests int
	clients  map[string]struct{}
}

func (r *refusalLog) add(client string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if r.clients == nil {
		r.clients = map[string]struct{}{}
	}
	if len(r.clients) < maxCountedClients {
		r.clients[client] = struct{}{}
	}
}

// report logs the refusals of each period until stopped is closed (the gate's stop logs the
// rest).
func (r *refusalLog) report(stopped <-chan struct{}) {
	t := time.NewTicker(refusalReportEvery)
	defer t.Stop()
	for {
		select {
		case <-stopped:
			return
		case <-t.C:
			r.flush()
		}
	}
}

func (r *refusalLog) flush() {
	r.mu.Lock()
	requests, clients := r.requests, len(r.clients)
	r.requests, r.clients = 0, nil
	r.mu.Unlock()
	if requests > 0 && r.log != nil {
		r.log.Warn("hash work refused", "requests", requests, "clients", clients, "period", refusalReportEvery)
	}
}
