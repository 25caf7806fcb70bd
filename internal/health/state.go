// Package health decides which upstream targets are in rotation. Two
// independent verdicts feed it: active health checks (Checker: HTTP, TCP or
// gRPC probes on an interval) and passive outlier detection (Outlier: the
// proxy reports every attempt and a target failing too often in a row is
// ejected for a while). A target is out of rotation while either verdict
// holds it out; the Registry combines them and calls Target.SetDown.
//
// Wiring, per upstream (the Registry lives as long as the pool does, so
// health survives reloads):
//
//	reg := health.NewRegistry(name, log, metrics)
//	chk, err := health.NewChecker(reg, checkCfg)  // only if health_check is configured
//	out, err := health.NewOutlier(reg, outlierCfg) // only if outlier detection is configured
//	chk.Update(pool.Targets())                     // after every pool.Update
//	out.Update(pool.Targets())
//	out.Report(target, failed)                     // proxy, after every attempt
//	chk.Stop(); out.Stop()                         // upstream removed or gateway stopped
//
// Checker and Outlier methods are no-ops on a nil receiver, so an upstream
// without one of them needs no nil checks. To change a Checker's or an
// Outlier's configuration on reload, build the new one on the same Registry,
// Update it, then Stop the old one: the new one takes the targets over with
// their verdicts, so a down target stays down across the reload.
package health

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// Registry holds the health state of one upstream's targets, shared by the
// upstream's Checker and Outlier. State is keyed by the target's scheme and
// address — the identity balancer.Pool uses — rather than by pointer,
// because the pool replaces a kept target's *Target when its weight
// changes; keying by address carries the verdicts over to the replacement.
type Registry struct {
	upstream string
	log      *slog.Logger
	metrics  *Metrics
	clock    clock

	// mu guards states' membership. Lock order: Checker.mu or Outlier.mu,
	// then Registry.mu, then state.mu; nothing holding a state.mu takes any
	// other lock.
	mu     sync.Mutex
	states map[string]*state
}

// NewRegistry returns an empty registry for the upstream named upstream.
// log may be nil (no logging) and so may m (no metrics).
func NewRegistry(upstream string, log *slog.Logger, m *Metrics) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{upstream: upstream, log: log, metrics: m, clock: realClock{}, states: map[string]*state{}}
}

// Status is a snapshot of one target's health, for the admin API.
type Status struct {
	// Target is the target's host:port.
	Target string
	// InRotation is false while either verdict holds the target out.
	InRotation bool
	// Healthy is the active check verdict (true when nothing checks it).
	Healthy bool
	// Ejected is the outlier verdict, including an expired ejection still
	// waiting for a successful active check.
	Ejected bool
	// Ejections is the current ejection multiplier: the next ejection lasts
	// (Ejections+1) × the base ejection time, less any decay.
	Ejections int
}

// Status returns the health of every target that a Checker or Outlier of
// the registry tracks, sorted by target.
func (r *Registry) Status() []Status {
	r.mu.Lock()
	out := make([]Status, 0, len(r.states))
	for _, s := range r.states {
		s.mu.Lock()
		out = append(out, Status{Target: s.label, InRotation: !s.down, Healthy: !s.activeDown,
			Ejected: s.ejected, Ejections: s.ejections})
		s.mu.Unlock()
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return cmp.Compare(a.Target, b.Target) })
	return out
}

// state is one target's health: the active verdict, the outlier verdict
// and the combination last applied to the target.
type state struct {
	reg   *Registry
	key   string // scheme://host:port, see Registry
	label string // host:port, for logs and metric labels

	mu      sync.Mutex
	target  *balancer.Target // the current pointer for key
	checker *Checker         // owner of the active verdict, nil if none
	outlier *Outlier         // owner of the outlier verdict, nil if none
	down    bool             // last value given to target.SetDown

	// Active verdict.
	activeDown          bool
	successes, failures int // consecutive, since the last opposite result

	// Outlier verdict.
	ejected       bool
	awaitingCheck bool      // ejection expired; readmit on the next passing active check
	expiredAt     time.Time // when the ejection expired, while awaitingCheck
	ejections     int       // multiplier of the base ejection time
	readmittedAt  time.Time // end of the last ejection, for multiplier decay
	ejectTimer    timer
	ejectGen      uint64 // invalidates a timer that fires after it was superseded
}

func targetKey(t *balancer.Target) string {
	scheme := "http"
	if t.URL != nil && t.URL.Scheme != "" {
		scheme = t.URL.Scheme
	}
	return scheme + "://" + t.Addr
}

// claim makes a state exist for every target, points it at that *Target,
// and lets take mark it owned (under the state's lock). It returns the
// states parallel to targets. Claiming and releasing happen under r.mu so
// that a state being released by one owner cannot be deleted while another
// owner is claiming it.
func (r *Registry) claim(targets []*balancer.Target, take func(*state)) []*state {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*state, len(targets))
	for i, t := range targets {
		if t == nil {
			continue
		}
		key := targetKey(t)
		s := r.states[key]
		if s == nil {
			// A new target starts in rotation: marking it down until it
			// passed HealthyThreshold checks would black-hole a freshly
			// started or reloaded upstream for several intervals.
			s = &state{reg: r, key: key, label: t.Addr, target: t}
			r.states[key] = s
			t.SetDown(false)
			r.metrics.setHealthy(r.upstream, s.label, true)
		}
		s.mu.Lock()
		if s.target != t {
			// The pool replaced the *Target (a weight change); the new
			// pointer must carry the verdicts we hold.
			s.target = t
			t.SetDown(s.down)
		}
		take(s)
		s.mu.Unlock()
		out[i] = s
	}
	return out
}

// release lets drop clear an owner's verdict on each state (under the
// state's lock), re-applies the combination and forgets states that no
// longer have any owner.
func (r *Registry) release(states []*state, drop func(*state)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range states {
		s.mu.Lock()
		drop(s)
		s.apply()
		orphan := s.checker == nil && s.outlier == nil
		s.mu.Unlock()
		if orphan && r.states[s.key] == s {
			delete(r.states, s.key)
			r.metrics.forget(r.upstream, s.label)
		}
	}
}

// apply gives the target the combination of both verdicts. Called with
// s.mu held after any verdict change.
func (s *state) apply() {
	down := s.activeDown || s.ejected
	if down == s.down {
		return
	}
	s.down = down
	s.target.SetDown(down)
	m := s.reg.metrics
	m.setHealthy(s.reg.upstream, s.label, !down)
	m.transition(s.reg.upstream, s.label, !down)
}

// logTransition logs a verdict change. It runs under s.mu: transitions are
// rare and the lock is per target, so holding it while logging keeps the
// log in the same order as the changes at no cost to the request path.
func (s *state) logTransition(level slog.Level, msg, reason string, attrs ...any) {
	r := s.reg
	attrs = append(attrs, "upstream", r.upstream, "target", s.label, "reason", reason, "in_rotation", !s.down)
	r.log.Log(context.Background(), level, msg, attrs...)
}
