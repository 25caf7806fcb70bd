package cache

import (
	"sync"
	"sync/atomic"
)

// flights coalesces concurrent fetches of one key: the first request
// (the leader) goes upstream and streams to its own client; the others
// wait for the entry it captured. It is not golang.org/x/sync/singleflight
// because the leader must run in its own request goroutine (it writes to
// its own ResponseWriter), and waiters must be able to give up when their
// request context ends.
type flights struct {
	mu sync.Mutex
	m  map[string]*call
}

// call is one fetch in progress.
type call struct {
	done chan struct{}
	// res is written once, before done is closed.
	res flightResult
	// waiters counts requests waiting on this call (for tests).
	waiters atomic.Int32
}

// flightResult is what waiters are served.
type flightResult struct {
	// e is the captured entry, nil when the response could not be shared
	// (not cacheable, too large, failed): each waiter then goes upstream
	// itself rather than getting an empty answer.
	e *entry
	// label is the X-Cache value waiters send: HIT for a stored or
	// revalidated entry, STALE for a stale entry served on error.
	label string
	// varySig is the Vary part of the leader's request, which a waiter's
	// request must match to share a varying response.
	varySig string
}

// join returns the call for key, creating it (leader = true) if none runs.
func (f *flights) join(key string) (c *call, leader bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c = f.m[key]; c != nil {
		c.waiters.Add(1)
		return c, false
	}
	if f.m == nil {
		f.m = make(map[string]*call)
	}
	c = &call{done: make(chan struct{})}
	f.m[key] = c
	return c, true
}

// finish publishes the leader's result to the waiters. The call stays
// joinable (with its result ready) until forget, so a request arriving
// while the leader is still writing the entry to the backend does not
// start a second fetch.
func (c *call) finish(res flightResult) {
	c.res = res
	close(c.done)
}

// forget removes the call for key.
func (f *flights) forget(key string, c *call) {
	f.mu.Lock()
	if f.m[key] == c {
		delete(f.m, key)
	}
	f.mu.Unlock()
}
