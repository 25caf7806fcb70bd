// Package balancer holds upstream pools, their targets and the algorithms
// that choose a target for each request.
package balancer

import (
	"net/url"
	"sync/atomic"
	"time"
)

// Target is one backend endpoint of a pool. Its runtime state (in-flight
// count, availability) is shared by every snapshot that references it, so
// it survives reloads when the pool keeps the target.
type Target struct {
	// URL is scheme://host:port; the proxy copies Scheme and Host from it.
	URL *url.URL
	// Addr is host:port, the key that identifies the target in its pool.
	Addr string
	// Weight is the relative share of traffic; 0 takes no new requests.
	Weight int
	// Priority is the failover group: targets of a higher priority get
	// traffic only when no target of a lower one is available.
	Priority int

	inflight atomic.Int64
	down     atomic.Bool // set by health checking (issue 3); false = in rotation
	draining atomic.Bool // removed by a reload: finish in-flight, take no new work
	latency  ewma        // completed-request latency estimate, for p2c_ewma
	// availableSince is the rampStamp of the target's last transition to
	// available, while it may still be in its slow-start ramp; 0 = not
	// ramping. See slowstart.go.
	availableSince atomic.Int64
}

// NewTarget returns a target for u (which must have a host:port) with weight.
func NewTarget(u *url.URL, weight int) *Target {
	return &Target{URL: u, Addr: u.Host, Weight: weight}
}

// Available reports whether the target may take new requests.
func (t *Target) Available() bool {
	return t.Weight > 0 && !t.down.Load() && !t.draining.Load()
}

// SetDown marks the target out of (true) or back in (false) rotation. A
// target coming back starts its slow-start ramp (when the pool has one).
func (t *Target) SetDown(down bool) {
	if t.down.Swap(down) && !down {
		t.markAvailable()
	}
}

// SetDraining marks a target that takes no new requests.
func (t *Target) SetDraining(d bool) { t.draining.Store(d) }

// Draining reports whether the target is being drained.
func (t *Target) Draining() bool { return t.draining.Load() }

// InFlight is the number of requests currently sent to the target.
func (t *Target) InFlight() int64 { return t.inflight.Load() }

// Begin counts a request sent to the target; call End when it is done.
func (t *Target) Begin() { t.inflight.Add(1) }

// End marks a request to the target as finished.
func (t *Target) End() { t.inflight.Add(-1) }

// Observe records the outcome of one completed attempt on the target: how
// long it took and whether it failed. The proxy calls it after every
// attempt, next to End; p2c_ewma steers by it. A failure counts as at least
// one second, so a target that fails fast does not look fast. Safe for
// concurrent use and lock-free.
func (t *Target) Observe(latency time.Duration, failed bool) {
	t.observeAt(ewmaNow(), latency, failed)
}

func (t *Target) observeAt(now uint32, latency time.Duration, failed bool) {
	if failed {
		latency = max(latency, failurePenalty)
	}
	t.latency.observe(now, float64(latency))
}

// LatencyEstimate is the target's current latency estimate (a time-decayed
// peak EWMA of Observe'd latencies, τ = 10s), or 0 before any Observe.
func (t *Target) LatencyEstimate() time.Duration {
	v, _ := t.latency.at(ewmaNow())
	return time.Duration(v)
}
