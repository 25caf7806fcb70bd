package l4

import (
	"io"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// Tracker knows every open L4 connection (and UDP session) by target, so
// that a reload which removes a target can drain it: its connections
// finish on their own for up to a grace period and are closed then, while
// the pool already sends new ones elsewhere. One Tracker serves every L4
// listener of a process and lives as long as the gateway.
type Tracker struct {
	mu    sync.Mutex
	conns map[*balancer.Target]map[io.Closer]struct{}
	n     int
	idle  chan struct{} // closed when n drops to 0 while someone waits
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{conns: map[*balancer.Target]map[io.Closer]struct{}{}}
}

// Add records c as open on t; the returned func forgets it (call it once,
// when the connection ends).
func (tr *Tracker) Add(t *balancer.Target, c io.Closer) (done func()) {
	tr.mu.Lock()
	m := tr.conns[t]
	if m == nil {
		m = map[io.Closer]struct{}{}
		tr.conns[t] = m
	}
	m[c] = struct{}{}
	tr.n++
	tr.mu.Unlock()
	return func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		if _, ok := m[c]; !ok {
			return
		}
		delete(m, c)
		if len(m) == 0 && tr.conns[t] != nil && len(tr.conns[t]) == 0 {
			delete(tr.conns, t)
		}
		tr.n--
		if tr.n == 0 && tr.idle != nil {
			close(tr.idle)
			tr.idle = nil
		}
	}
}

// Open is the number of connections open on t.
func (tr *Tracker) Open(t *balancer.Target) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.conns[t])
}

// Total is the number of open connections.
func (tr *Tracker) Total() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.n
}

// Drain closes, after grace, the connections still open on the targets
// (those a reload removed and the pool marked draining). A target that is
// no longer draining by then (added back) keeps its connections.
func (tr *Tracker) Drain(targets []*balancer.Target, grace time.Duration) {
	if len(targets) == 0 {
		return
	}
	time.AfterFunc(grace, func() {
		for _, t := range targets {
			if t.Draining() {
				tr.closeTarget(t)
			}
		}
	})
}

func (tr *Tracker) closeTarget(t *balancer.Target) {
	tr.mu.Lock()
	cs := make([]io.Closer, 0, len(tr.conns[t]))
	for c := range tr.conns[t] {
		cs = append(cs, c)
	}
	tr.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// Shutdown waits until every connection has ended or ctx-less deadline
// grace passed, then closes those left. It returns how many it closed.
func (tr *Tracker) Shutdown(grace time.Duration) int {
	tr.mu.Lock()
	if tr.n == 0 {
		tr.mu.Unlock()
		return 0
	}
	if tr.idle == nil {
		tr.idle = make(chan struct{})
	}
	idle := tr.idle
	tr.mu.Unlock()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-idle:
		return 0
	case <-timer.C:
	}
	tr.mu.Lock()
	var cs []io.Closer
	for _, m := range tr.conns {
		for c := range m {
			cs = append(cs, c)
		}
	}
	tr.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
	return len(cs)
}
