package mirror

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// Mirror is a compiled Config: the layer a route's action runs in.
type Mirror struct {
	targets []*target
	maxBody int64
	timeout time.Duration
	rand    func() float64
}

// target is a Target with its in-flight bound.
type target struct {
	send    http.Handler
	percent float64
	count   func(Result)
	slots   chan struct{} // a buffered semaphore: one token per copy in flight
}

// New compiles c. A Mirror is safe for concurrent use; its bounds are its
// own, so a reload that builds a new one starts with empty slots while the
// old one's copies finish.
func New(c Config) *Mirror {
	m := &Mirror{maxBody: c.MaxBodyBytes, timeout: c.Timeout, rand: c.Rand}
	if m.maxBody <= 0 {
		m.maxBody = DefaultMaxBodyBytes
	}
	if m.timeout <= 0 {
		m.timeout = DefaultTimeout
	}
	if m.rand == nil {
		m.rand = rand.Float64
	}
	n := c.MaxInFlight
	if n <= 0 {
		n = DefaultMaxInFlight
	}
	for _, t := range c.Targets {
		p := t.Percent
		if p <= 0 {
			p = DefaultPercent
		}
		m.targets = append(m.targets, &target{send: t.Send, percent: p, count: t.Count, slots: make(chan struct{}, n)})
	}
	return m
}

// Wrap is the mirror layer around next, the route's action.
func (m *Mirror) Wrap(next http.Handler) http.Handler {
	if len(m.targets) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sel := m.admit()
		if len(sel) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		c := capture(m, r, sel)
		switch {
		case !hasBody(r):
			c.dispatch(nil)
		case r.ContentLength > m.maxBody:
			c.drop()
		default:
			tee := newTee(r.Body, r.ContentLength, m.maxBody, c)
			r.Body = tee
			defer tee.finish()
		}
		next.ServeHTTP(w, r)
	})
}

// admit samples each target and takes a slot of those sampled; a sampled
// target without a free slot is counted Dropped. It returns the targets
// that will get a copy (nil, without allocating, when none).
func (m *Mirror) admit() []*target {
	var sel []*target
	for _, t := range m.targets {
		if t.percent < 100 && m.rand()*100 >= t.percent {
			continue
		}
		select {
		case t.slots <- struct{}{}:
			sel = append(sel, t)
		default:
			t.done(Dropped)
		}
	}
	return sel
}

// done counts r for t.
func (t *target) done(r Result) {
	if t.count != nil {
		t.count(r)
	}
}

// release frees the slot a copy held and counts its result.
func (t *target) release(r Result) {
	<-t.slots
	t.done(r)
}

// hasBody reports whether r carries a body to copy.
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}
