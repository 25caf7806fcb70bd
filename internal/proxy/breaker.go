package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// BreakerLimits are the thresholds of an upstream's circuit breaker
// (Envoy's max_requests, max_pending_requests and max_connections). A zero
// limit is no limit, except MaxPending, where 0 means no queue.
type BreakerLimits struct {
	// MaxInFlight caps the requests in progress to the upstream, a request
	// counting from its first attempt until its response is relayed (an
	// upgraded connection until its tunnel ends).
	MaxInFlight int
	// MaxPending caps the requests waiting for an in-flight slot; beyond it
	// a request is refused at once. 0 refuses every request over
	// MaxInFlight.
	MaxPending int
	// MaxConnections caps the connections open to the upstream's targets.
	// It is enforced only by transports built by NewTransport with this
	// Breaker in TransportConfig.Breaker: a request that would need a new
	// connection beyond it is refused as overloaded (it does not wait for
	// a connection to free up).
	MaxConnections int
}

// Breaker is an upstream's circuit breaker in Envoy's sense: it bounds the
// work sent to the upstream and sheds the excess fast with 503 rather than
// letting queues grow. Share one per upstream among its routes (through
// Options.Breaker) and its transport (TransportConfig.Breaker). Admission
// under the limit is lock-free and does not allocate; only requests that
// have to wait take a lock.
type Breaker struct {
	maxInFlight int64
	maxPending  int
	maxConns    int64

	inflight atomic.Int64
	pending  atomic.Int64 // requests in queue, or about to decide to be
	conns    atomic.Int64

	mu    sync.Mutex
	queue []*breakerWaiter // FIFO
}

type breakerWaiter struct {
	ready   chan struct{}
	granted bool // guarded by Breaker.mu
}

// NewBreaker returns a breaker enforcing l; negative limits count as 0.
func NewBreaker(l BreakerLimits) *Breaker {
	return &Breaker{
		maxInFlight: int64(max(l.MaxInFlight, 0)),
		maxPending:  max(l.MaxPending, 0),
		maxConns:    int64(max(l.MaxConnections, 0)),
	}
}

// InFlight is the number of requests holding a slot.
func (b *Breaker) InFlight() int64 { return b.inflight.Load() }

// Pending is the number of requests waiting for a slot.
func (b *Breaker) Pending() int64 { return b.pending.Load() }

// Connections is the number of open connections counted for
// MaxConnections (0 unless the transport enforces it).
func (b *Breaker) Connections() int64 { return b.conns.Load() }

// errOverloaded is what acquire returns when the request is refused.
var errOverloaded = errors.New("upstream overloaded (circuit breaker)")

// tryAcquire takes a slot if one is free.
func (b *Breaker) tryAcquire() bool {
	for {
		cur := b.inflight.Load()
		if cur >= b.maxInFlight {
			return false
		}
		if b.inflight.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// acquire takes an in-flight slot, waiting in the pending queue while there
// is room in it, until ctx ends. It returns nil with a slot held (give it
// back with release), errOverloaded, or ctx's error.
func (b *Breaker) acquire(ctx context.Context) error {
	if b.maxInFlight == 0 {
		b.inflight.Add(1)
		return nil
	}
	// Fast path, unless others wait: they come first.
	if b.pending.Load() == 0 && b.tryAcquire() {
		return nil
	}
	if b.maxPending == 0 {
		return errOverloaded
	}
	b.mu.Lock()
	// pending is raised before the last look at inflight, so a release that
	// lowers inflight after that look sees pending > 0 and wakes the queue.
	b.pending.Add(1)
	if len(b.queue) == 0 && b.tryAcquire() {
		b.pending.Add(-1)
		b.mu.Unlock()
		return nil
	}
	if len(b.queue) >= b.maxPending {
		b.pending.Add(-1)
		b.mu.Unlock()
		return errOverloaded
	}
	w := &breakerWaiter{ready: make(chan struct{})}
	b.queue = append(b.queue, w)
	b.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	if w.granted {
		// The slot came as ctx ended: pass it on.
		b.mu.Unlock()
		b.release()
		return ctx.Err()
	}
	if i := slices.Index(b.queue, w); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
	b.pending.Add(-1)
	b.mu.Unlock()
	return ctx.Err()
}

// release gives a slot back, handing it to the longest waiter if any.
func (b *Breaker) release() {
	b.inflight.Add(-1)
	if b.pending.Load() == 0 {
		return
	}
	b.mu.Lock()
	for len(b.queue) > 0 && b.tryAcquire() {
		w := b.queue[0]
		b.queue[0] = nil
		b.queue = b.queue[1:]
		b.pending.Add(-1)
		w.granted = true
		close(w.ready)
	}
	if len(b.queue) == 0 {
		b.queue = b.queue[:0:0] // let the backing array go
	}
	b.mu.Unlock()
}

// OverloadedHeader marks a response the circuit breaker refused, as Envoy's
// x-envoy-overloaded does, so clients and front proxies can tell shedding
// from an upstream's own 503.
const OverloadedHeader = "X-Gatehouse-Overloaded"

// overloaded answers a request the breaker refused.
func (h *handler) overloaded(w http.ResponseWriter, r *http.Request, info *reqinfo.Info) {
	if info != nil {
		info.UpstreamError = errOverloaded.Error()
	}
	if r.Context().Err() != nil {
		return // the client left while queued
	}
	if h.onOverflow != nil {
		h.onOverflow()
	}
	w.Header()[OverloadedHeader] = overloadedValue
	problem.Write(w, r, http.StatusServiceUnavailable, errOverloaded.Error())
}

var overloadedValue = []string{"true"}

// ErrConnectionLimit is the error of a dial refused because the upstream
// has BreakerLimits.MaxConnections connections open.
var ErrConnectionLimit = errors.New("upstream connection limit reached (circuit breaker)")

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// limitDial wraps dial to count the connections it opens against
// MaxConnections, refusing one beyond it.
func (b *Breaker) limitDial(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if b.conns.Add(1) > b.maxConns {
			b.conns.Add(-1)
			return nil, ErrConnectionLimit
		}
		c, err := dial(ctx, network, addr)
		if err != nil {
			b.conns.Add(-1)
			return nil, err
		}
		return &countedConn{Conn: c, b: b}, nil
	}
}

// countedConn gives its place back to the breaker when closed.
type countedConn struct {
	net.Conn
	b      *Breaker
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.b.conns.Add(-1)
	}
	return c.Conn.Close()
}
