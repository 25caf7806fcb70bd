package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/discovery"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// upstream is a pool plus the transport that reaches its targets. Both are
// kept across reloads (keyed by name) so connections, health and balancer
// state survive; the transport is rebuilt only when its settings change.
type upstream struct {
	pool      *balancer.Pool
	transport http.RoundTripper
	key       translate.TransportKey
	resolver  *discovery.Resolver // nil without discovery

	mu     sync.Mutex // serialises target changes: reloads and DNS answers
	health upstreamHealth

	// Resilience state shared by the upstream's routes, kept across
	// reloads while its settings are unchanged.
	budget     *proxy.Budget
	budgetKey  config.RetryBudget
	breaker    *proxy.Breaker
	breakerKey config.CircuitBreaker
	counters   observe.UpstreamCounters
	// headers are the targets' own request header edits.
	headers proxy.TargetHeaders
}

// updateResilience rebuilds the retry budget and circuit breaker when
// their settings changed.
func (cur *upstream) updateResilience(u *config.Upstream) {
	if b := *u.RetryBudget; cur.budget == nil || b != cur.budgetKey {
		cur.budget, cur.budgetKey = proxy.NewBudget(b.Ratio, b.MinConcurrent), b
	}
	var k config.CircuitBreaker
	if u.CircuitBreaker != nil {
		k = *u.CircuitBreaker
		k.Pos = config.Pos{}
	}
	if k != cur.breakerKey || (u.CircuitBreaker != nil) != (cur.breaker != nil) {
		cur.breaker, cur.breakerKey = nil, k
		if u.CircuitBreaker != nil {
			cur.breaker = proxy.NewBreaker(proxy.BreakerLimits{MaxInFlight: k.MaxInFlight, MaxPending: k.MaxPending})
		}
	}
}

// setTargets gives the pool a new target list, keeps health checking in
// step and drains the targets that left.
func (g *Gateway) setTargets(cur *upstream, u *config.Upstream, targets []*balancer.Target, grace time.Duration) error {
	cur.mu.Lock()
	defer cur.mu.Unlock()
	removed, err := cur.pool.UpdateWithOptions(u.Balance, targets, translate.BalancerOptions(u, g.stickyKey))
	if err != nil {
		return err
	}
	if err := g.updateHealth(cur, u, cur.pool.Targets()); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	rt := cur.transport
	g.l4.tracker.Drain(removed, grace)
	for _, t := range removed {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.drain(t, rt, grace) }()
	}
	return nil
}

// startDiscovery resolves the upstream's target names now and again every
// interval; each new answer replaces the pool's targets.
func (g *Gateway) startDiscovery(cur *upstream, u *config.Upstream, grace time.Duration) error {
	specs := make([]discovery.Spec, 0, len(u.Targets))
	for _, t := range u.Targets {
		pu, err := url.Parse(t.URL)
		if err != nil {
			return err
		}
		port, _ := strconv.Atoi(pu.Port())
		specs = append(specs, discovery.Spec{Scheme: pu.Scheme, Host: pu.Hostname(), Port: port, Weight: t.Weight, SRV: u.Discovery.SRV})
	}
	onChange := func(eps []discovery.Endpoint) {
		ts := make([]*balancer.Target, len(eps))
		for i, e := range eps {
			ts[i] = balancer.NewTarget(e.URL, e.Weight)
		}
		if err := g.setTargets(cur, u, ts, grace); err != nil {
			g.log.Error("discovery: cannot apply new targets", "upstream", u.Name, "error", err)
			return
		}
		g.log.Info("discovery: targets changed", "upstream", u.Name, "targets", len(ts))
	}
	r := discovery.New(specs, u.Discovery.Interval, nil, onChange, g.log)
	if err := r.Start(context.Background()); err != nil {
		return err
	}
	cur.resolver = r
	return nil
}

// idleCloser is implemented by transports that can drop one target's idle
// connections once it has drained.
type idleCloser interface{ CloseIdleFor(hostport string) }

// drain waits for a removed target's in-flight requests to finish (up to
// the grace period), then closes its idle connections.
func (g *Gateway) drain(t *balancer.Target, rt http.RoundTripper, grace time.Duration) {
	deadline := time.Now().Add(grace)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for t.InFlight() > 0 && time.Now().Before(deadline) {
		<-tick.C
	}
	if c, ok := rt.(idleCloser); ok {
		c.CloseIdleFor(t.Addr)
	}
	g.log.Info("target drained", "target", t.Addr, "in_flight_left", t.InFlight())
}
