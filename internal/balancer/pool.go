package balancer

import (
	"net/http"
	"sort"
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
	balancer  Balancer // of the first priority group
	// groups are the priority groups, lowest priority first; most pools
	// have one, whose balancer is also in balancer.
	groups []group
	panic  atomic.Uint64 // round-robin counter for SpreadWhenNoneHealthy
}

type group struct {
	targets  []*Target
	balancer Balancer
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
	return p.pickFrom(p.state.Load(), r, skip)
}

// pickFrom picks from st, a state loaded from p. An Update stores the new
// state and only then marks the targets that left draining, so a Pick
// that loaded the old state just before may find every one of its
// targets draining — a reload that replaces a pool's targets would fail
// that request with "no available target" although the new targets are
// serving. So when st has nothing to give and has been replaced since, the
// pick is made again from the current state. The extra atomic load is
// paid only on a failed pick; states change only on Update, so the loop
// ends.
func (p *Pool) pickFrom(st *poolState, r *http.Request, skip *Target) *Target {
	for {
		if t := st.pick(r, skip); t != nil {
			return t
		}
		cur := p.state.Load()
		if cur == st {
			return nil
		}
		st = cur
	}
}

// pick chooses from this state alone.
func (st *poolState) pick(r *http.Request, skip *Target) *Target {
	if st.balancer == nil {
		return nil
	}
	if t := st.balancer.Pick(r, skip); t != nil {
		return t
	}
	// Failover: the backup groups, in priority order.
	for _, g := range st.groups[1:] {
		if t := g.balancer.Pick(r, skip); t != nil {
			return t
		}
	}
	if st.options.SpreadWhenNoneHealthy {
		return st.spread(skip)
	}
	return nil
}

// spread picks round robin among all targets that take traffic at all
// (weight above 0, not draining), ignoring health: Envoy's panic mode,
// for when sending to a maybe-sick target beats failing every request.
func (st *poolState) spread(skip *Target) *Target {
	n := uint64(len(st.targets))
	for i := uint64(0); i < n; i++ {
		t := st.targets[(st.panic.Add(1)-1)%n]
		if t != skip && t.Weight > 0 && !t.Draining() {
			return t
		}
	}
	return nil
}

// Pin returns the Set-Cookie header value that pins the client of r to t,
// the target chosen for it, or "" when there is nothing to set: the pool
// has no sticky sessions (Options.Sticky), r already carries a valid cookie
// for t, or t is no longer in the pool. The proxy calls it once it has
// picked the target of the attempt that answers r.
func (p *Pool) Pin(r *http.Request, t *Target) string {
	st := p.state.Load()
	if len(st.groups) == 0 {
		return ""
	}
	s := st.groups[0].balancer
	for _, g := range st.groups[1:] { // a backup target is pinned by its own group
		for _, gt := range g.targets {
			if gt == t {
				s = g.balancer
			}
		}
	}
	if s, ok := s.(*Sticky); ok {
		return s.Pin(r, t)
	}
	return ""
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
// take the new weight; targets new to a pool that had targets start their
// slow-start ramp (Options.SlowStart); targets no longer listed are marked draining and
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
	var added []*Target
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
		} else {
			added = append(added, t)
		}
		merged[i] = t
	}
	groups, err := buildGroups(algorithm, merged, o)
	if err != nil {
		return nil, err
	}
	for _, t := range merged {
		t.SetDraining(false)
	}
	if len(old.targets) > 0 {
		// A target added to a serving pool ramps up (slow start); the
		// targets of a pool's first Update all start together, and a
		// ramp that scales every weight alike would change nothing.
		for _, t := range added {
			t.markAvailable()
		}
	}
	for _, t := range byAddr {
		t.SetDraining(true)
		removed = append(removed, t)
	}
	p.state.Store(&poolState{targets: merged, algorithm: algorithm, options: o, balancer: groups[0].balancer, groups: groups})
	return removed, nil
}

// buildGroups splits targets by priority (lowest first) and builds one
// balancer per group.
func buildGroups(algorithm string, targets []*Target, o Options) ([]group, error) {
	prios := map[int][]*Target{}
	var order []int
	for _, t := range targets {
		if _, ok := prios[t.Priority]; !ok {
			order = append(order, t.Priority)
		}
		prios[t.Priority] = append(prios[t.Priority], t)
	}
	sort.Ints(order)
	if len(order) == 0 {
		order = []int{0}
	}
	groups := make([]group, len(order))
	for i, pr := range order {
		b, err := NewWithOptions(algorithm, prios[pr], o)
		if err != nil {
			return nil, err
		}
		groups[i] = group{targets: prios[pr], balancer: b}
	}
	return groups, nil
}

// inheritState carries health and the latency estimate over from prev, a
// target with the same address that this one replaces. The in-flight count
// stays with prev, where the matching End calls will land.
func (t *Target) inheritState(prev *Target) {
	t.down.Store(prev.down.Load())
	t.latency.bits.Store(prev.latency.bits.Load())
	t.availableSince.Store(prev.availableSince.Load())
}
