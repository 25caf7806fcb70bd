package h1client

import (
	"context"
	"sync"
	"time"
)

// hostPool is the idle stack for one upstream host:port. LIFO keeps the
// busiest few connections warm and lets the rest age out: because pushes
// happen in time order, the stack is sorted by idle time and the top is
// always the freshest, so one comparison on checkout tells whether any idle
// connection is still usable.
type hostPool struct {
	t    *Transport
	addr string // dial address, always host:port

	mu   sync.Mutex
	idle []*conn
	dead bool // removed by CloseIdleFor: returning connections are closed

	// client is set for the pools of a PROXY protocol Transport: the
	// client every connection's header names (proxyproto.go).
	client *clientKey
}

// getConn pops the freshest idle connection that is still open, or dials
// a new one. A connection the origin closed while it sat idle is discarded
// and counted (see stale.go); the next one down the stack is tried.
func (t *Transport) getConn(ctx context.Context, hp *hostPool) (*conn, error) {
	for {
		now := time.Now()
		hp.mu.Lock()
		n := len(hp.idle)
		if n == 0 {
			hp.mu.Unlock()
			return t.dial(ctx, hp)
		}
		c := hp.idle[n-1]
		if now.Sub(c.idleAt) >= t.idleTimeout {
			// The freshest is expired, so all are.
			expired := hp.idle
			hp.idle = nil
			hp.mu.Unlock()
			for _, c := range expired {
				c.nc.Close()
			}
			return t.dial(ctx, hp)
		}
		hp.idle[n-1] = nil
		hp.idle = hp.idle[:n-1]
		hp.mu.Unlock()
		if c.idleLimit > 0 && now.Sub(c.idleAt) >= c.idleLimit {
			// The origin is about to close it (keepalive.go); older
			// connections may have other limits, so look at the next.
			c.nc.Close()
			continue
		}
		if !c.probe.alive() {
			c.nc.Close()
			if t.onStale != nil {
				t.onStale()
			}
			continue
		}
		c.checkout()
		return c, nil
	}
}

// put returns a healthy connection to its idle stack, or closes it when the
// stack is full or the pool was drained.
func (hp *hostPool) put(c *conn) {
	if hp.client != nil {
		hp = hp.t.clientPut(hp)
	}
	c.idleAt = time.Now()
	hp.mu.Lock()
	if hp.dead || len(hp.idle) >= hp.t.maxIdle {
		hp.mu.Unlock()
		c.nc.Close()
		return
	}
	hp.idle = append(hp.idle, c)
	hp.mu.Unlock()
	if hp.t.janitorArmed.CompareAndSwap(false, true) {
		hp.t.janitor.Reset(hp.t.idleTimeout)
	}
}

// closeIdle closes every idle connection; dead makes the pool close
// connections that come back later too.
func (hp *hostPool) closeIdle(dead bool) {
	hp.mu.Lock()
	idle := hp.idle
	hp.idle = nil
	if dead {
		hp.dead = true
	}
	hp.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}

// sweep closes connections idle longer than IdleTimeout. Checkout already
// refuses expired connections; the sweep exists for the ones never checked
// out again (the bottom of a stack after a burst), which would otherwise hold
// a file descriptor and a half-closed socket forever. It re-arms itself only
// while idle connections remain, so an idle Transport runs no timer.
func (t *Transport) sweep() {
	t.janitorArmed.Store(false) // a put racing with the scan re-arms itself
	cutoff := time.Now().Add(-t.idleTimeout)
	remaining := 0
	var expired []*conn
	for _, hp := range *t.pools.Load() {
		hp.mu.Lock()
		expired = hp.expireLocked(cutoff, expired)
		remaining += len(hp.idle)
		hp.mu.Unlock()
	}
	if t.clientPools != nil {
		expired, remaining = t.sweepClientPools(cutoff, expired, remaining)
	}
	for _, c := range expired {
		c.nc.Close()
	}
	if remaining > 0 && t.janitorArmed.CompareAndSwap(false, true) {
		t.janitor.Reset(t.idleTimeout)
	}
}

// expireLocked moves the connections idle since cutoff or longer (the
// bottom of the stack) to expired.
func (hp *hostPool) expireLocked(cutoff time.Time, expired []*conn) []*conn {
	n := 0
	for n < len(hp.idle) && !hp.idle[n].idleAt.After(cutoff) {
		n++
	}
	if n > 0 {
		expired = append(expired, hp.idle[:n]...)
		rest := copy(hp.idle, hp.idle[n:])
		clear(hp.idle[rest:])
		hp.idle = hp.idle[:rest]
	}
	return expired
}
