package balancer

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// Pool is a named upstream: its targets and the balancer over them. Pools
// are keyed by name and outlive configuration snapshots, so a reload that
// keeps a target keeps its state (in-flight count, health, latency
// estimate).
type Pool struct {
	// Name is the upstream's name from the configuration.
	Name string

	update sync.Mutex // serialises Update; Pick never takes it
	state  atomic.Pointer[poolState]
}

type poolState struct {
	targets   []*Target
	algorithm string
	options   Options
	balancer  Balancer
}

// NewPool returns an empty pool; call Update to give it targets.
func NewPool(name string) *Pool {
	p := &Pool{Name: name}
	p.state.Store(&poolState{})
	return p
}

// Pick chooses a target for r, never skip; nil when none is available,
// including before the first Update.
func (p *Pool) Pick(r *http.Request, skip *Target) *Target {
	b := p.state.Load().balancer
	if b == nil {
		return nil
	}
	return b.Pick(r, skip)
}

// Targets returns the current targets; the slice must not be modified.
func (p *Pool) Targets() []*Target { return p.state.Load().targets }

// Algorithm is the name of the current balancing algorithm.
func (p *Pool) Algorithm() string { return p.state.Load().algorithm }

// Options are the current algorithm's options.
func (p *Pool) Options() Options { return p.state.Load().options }

// Update is UpdateWithOptions with zero Options.
func (p *Pool) Update(algorithm string, targets []*Target) (removed []*Target, err error) {
	return p.UpdateWithOptions(algorithm, targets, Options{})
}

// UpdateWithOptions replaces the pool's targets, algorithm and options.
// Targets whose Addr is already in the pool are kept (with their state) and
// take the new weight; targets no longer listed are marked draining and
// returned so the caller can close their idle connections once their
// in-flight requests end. On error the pool is left as it was.
func (p *Pool) UpdateWithOptions(algorithm string, targets []*Target, o Options) (removed []*Target, err error) {
	p.update.Lock()
	defer p.update.Unlock()
	old := p.state.Load()
	byAddr := make(map[string]*Target, len(old.targets))
	for _, t := range old.targets {
		byAddr[t.Addr] = t
	}
	merged := make([]*Target, len(targets))
	for i, t := range targets {
		if prev, ok := byAddr[t.Addr]; ok && prev.URL.Scheme == t.URL.Scheme {
			// Weight is read without synchronisation on the hot path; a
			// kept target gets a fresh copy instead of a mutation.
			if prev.Weight != t.Weight {
				t.inheritState(prev)
			} else {
				t = prev
			}
			delete(byAddr, t.Addr)
		}
		merged[i] = t
	}
	b, err := NewWithOptions(algorithm, merged, o)
	if err != nil {
		return nil, err
	}
	for _, t := range merged {
		t.SetDraining(false)
	}
	for _, t := range byAddr {
		t.SetDraining(true)
		removed = append(removed, t)
	}
	p.state.Store(&poolState{targets: merged, algorithm: algorithm, options: o, balancer: b})
	return removed, nil
}

// inheritState carries health and the latency estimate over from prev, a
// target with the same address that this one replaces. The in-flight count
// stays with prev, where the matching End calls will land.
func (t *Target) inheritState(prev *Target) {
	t.down.Store(prev.down.Load())
	t.latency.bits.Store(prev.latency.bits.Load())
}
