package tcpproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
)

func TestRoundRobinOverThreeBackends(t *testing.T) {
	var addrs []string
	for _, n := range []string{"a", "b", "c"} {
		a, _ := backend(t, named(n))
		addrs = append(addrs, a)
	}
	p, _ := newPool(t, "round_robin", addrs...)
	e := start(t, Config{}, route("r", &l4.Backend{Upstream: "u", Pool: p}, l4.Match{}))
	got := map[string]int{}
	for i := range 30 {
		c := e.dial(t)
		got[greeting(t, c)]++
		roundTrip(t, c, fmt.Sprintf("ping %d", i))
		c.Close()
	}
	if got["a"] != 10 || got["b"] != 10 || got["c"] != 10 {
		t.Fatalf("connections per backend = %v, want 10 each", got)
	}
}

func TestNoRouteClosesConnection(t *testing.T) {
	a, accepted := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{DestinationPorts: []uint16{1}}))
	expectClosed(t, e.dial(t))
	e.waitLine(t, map[string]any{"close": "no_route", "client_ip": "127.0.0.1"})
	if got := e.metric(t, "gatehouse_l4_connections_total", map[string]string{"result": "no_route"}); got != 1 {
		t.Fatalf("no_route connections = %v, want 1", got)
	}
	if accepted.Load() != 0 {
		t.Fatal("an unrouted connection reached the backend")
	}
}

// A dead target next to a live one costs no client its connection: the
// failed connect is retried on the other target and reported to passive
// health checking.
func TestConnectRetryOnAnotherTarget(t *testing.T) {
	live, _ := backend(t, echo)
	dead := listen(t) // bound after live, so live cannot take its port
	deadAddr := dead.Addr().String()
	dead.Close() // connects are refused from now on
	p, ts := newPool(t, "round_robin", deadAddr, live)
	var mu sync.Mutex
	failures := map[string]int{}
	b := &l4.Backend{Upstream: "u", Pool: p, Report: func(t *balancer.Target, err error) {
		if err != nil {
			mu.Lock()
			failures[t.Addr]++
			mu.Unlock()
		}
	}}
	e := start(t, Config{}, route("r", b, l4.Match{}))
	for i := range 10 {
		c := e.dial(t)
		roundTrip(t, c, fmt.Sprintf("ping %d", i))
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if failures[deadAddr] == 0 || failures[live] != 0 {
		t.Fatalf("reported failures = %v, want some for the dead target only", failures)
	}
	if ts[0].InFlight() != 0 {
		t.Fatalf("dead target in flight = %d, want 0 (a failed attempt Ends)", ts[0].InFlight())
	}
}

func TestConnectFailedWhenAllTargetsDown(t *testing.T) {
	dead := listen(t)
	deadAddr := dead.Addr().String()
	dead.Close()
	p, _ := newPool(t, "round_robin", deadAddr)
	e := start(t, Config{}, route("r", &l4.Backend{Upstream: "u", Pool: p}, l4.Match{}))
	expectClosed(t, e.dial(t))
	e.waitLine(t, map[string]any{"close": "connect_failed", "route": "r", "upstream": "u"})
}

func TestMaxConnsPerTarget(t *testing.T) {
	a, _ := backend(t, named("a"))
	b, _ := backend(t, named("b"))
	p, ts := newPool(t, "round_robin", a, b)
	e := start(t, Config{}, route("r", &l4.Backend{Upstream: "u", Pool: p, MaxConnsPerTarget: 1}, l4.Match{}))
	c1, c2 := e.dial(t), e.dial(t)
	seen := map[string]bool{greeting(t, c1): true, greeting(t, c2): true}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("two connections went to %v, want one per target", seen)
	}
	expectClosed(t, e.dial(t)) // both targets are full
	e.waitLine(t, map[string]any{"close": "no_target"})
	if got := e.metric(t, "gatehouse_l4_connections_total", map[string]string{"result": "no_target"}); got != 1 {
		t.Fatalf("no_target connections = %v, want 1", got)
	}
	c1.Close()
	waitFor(t, "a target to have room", func() bool { return ts[0].InFlight()+ts[1].InFlight() == 1 })
	c4 := e.dial(t)
	greeting(t, c4)
	roundTrip(t, c4, "room again")
}

func TestListenerMaxConns(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{MaxConns: 2}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c1, c2 := e.dial(t), e.dial(t)
	roundTrip(t, c1, "one")
	roundTrip(t, c2, "two")
	expectClosed(t, e.dial(t))
	e.waitLine(t, map[string]any{"close": "limited", "client_ip": "127.0.0.1"})
	if got := e.metric(t, "gatehouse_l4_connections_total", map[string]string{"result": "limited"}); got != 1 {
		t.Fatalf("limited connections = %v, want 1", got)
	}
	c1.Close()
	waitFor(t, "the closed connection to free its slot", func() bool { return e.s.open.Load() == 1 })
	roundTrip(t, e.dial(t), "three")
}

// A reload (SetRoutes) sends new connections by the new table; an open
// connection keeps the route it got.
func TestSetRoutesKeepsOpenConnections(t *testing.T) {
	a, _ := backend(t, named("a"))
	b, _ := backend(t, named("b"))
	pa, _ := newPool(t, "round_robin", a)
	pb, _ := newPool(t, "round_robin", b)
	e := start(t, Config{}, route("ra", &l4.Backend{Pool: pa}, l4.Match{}))
	c1 := e.dial(t)
	if g := greeting(t, c1); g != "a" {
		t.Fatalf("before reload: %q", g)
	}
	e.s.SetRoutes(l4.NewTable([]*l4.Route{route("rb", &l4.Backend{Pool: pb}, l4.Match{})}))
	if g := greeting(t, e.dial(t)); g != "b" {
		t.Fatalf("after reload: %q, want b", g)
	}
	roundTrip(t, c1, "still a")
}

// Tracker.Drain closes, after the grace period, the connections of a
// target a reload removed, and only those.
func TestDrainClosesRemovedTargetAfterGrace(t *testing.T) {
	a, _ := backend(t, named("a"))
	b, _ := backend(t, named("b"))
	p, ts := newPool(t, "round_robin", a, b)
	e := start(t, Config{}, route("r", &l4.Backend{Upstream: "u", Pool: p}, l4.Match{}))
	conns := map[string]net.Conn{}
	for range 2 {
		c := e.dial(t)
		conns[greeting(t, c)] = c
	}
	if conns["a"] == nil || conns["b"] == nil {
		t.Fatalf("connections went to %v", conns)
	}
	removed, err := p.Update("round_robin", []*balancer.Target{ts[1]})
	if err != nil || len(removed) != 1 || removed[0] != ts[0] {
		t.Fatalf("Update removed %v, %v", removed, err)
	}
	e.tracker.Drain(removed, 0)
	expectClosed(t, conns["a"])
	e.waitLine(t, map[string]any{"close": "drained", "upstream_target": a})
	roundTrip(t, conns["b"], "b stays")
	if g := greeting(t, e.dial(t)); g != "b" {
		t.Fatalf("new connection went to %q, want b", g)
	}
}

// Shutdown stops accepting but leaves forwarded connections to the
// tracker, whose Shutdown closes them with reason "shutdown".
func TestShutdownLeavesConnectionsToTracker(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	roundTrip(t, c, "before")
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := e.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if nc, err := net.Dial("tcp", e.addr); err == nil {
		nc.Close()
		t.Fatal("dial after Shutdown succeeded")
	}
	roundTrip(t, c, "after")
	if n := e.tracker.Shutdown(0); n != 1 {
		t.Fatalf("tracker closed %d connections, want 1", n)
	}
	expectClosed(t, c)
	e.waitLine(t, map[string]any{"close": "shutdown"})
}

// Shutdown waits for connections still being set up only until its
// context ends, then closes them.
func TestShutdownClosesStalledSetupAtDeadline(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	cert, _ := selfSigned(t, "a.example.com")
	e := start(t, Config{Mode: Terminate, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t) // sends no ClientHello: stays in the handshake
	// In setup, not merely accepted: Shutdown waits for registered
	// connections only (one accepted a moment before is bounded by its
	// handshake timeout instead).
	waitFor(t, "the connection to be in its setup", func() bool {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		return e.s.setup == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want the context's deadline", err)
	}
	expectClosed(t, c)
	e.waitLine(t, map[string]any{"close": "shutdown"})
}

// Close ends forwarded connections too.
func TestCloseEndsForwardedConnections(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	roundTrip(t, c, "x")
	e.s.Close()
	expectClosed(t, c)
	e.waitLine(t, map[string]any{"close": "shutdown", "bytes_up": 1})
}

func TestServeAfterCloseReturns(t *testing.T) {
	s := New(Config{}, nil)
	s.Close()
	if err := s.Serve(listen(t)); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Close = %v", err)
	}
}

// The log line and metrics of a forwarded connection carry its route,
// target and the bytes each way, counted from the copy's return values
// plus the bytes read before it.
func TestAccessLogAndMetrics(t *testing.T) {
	a, _ := backend(t, func(c net.Conn) {
		if _, err := io.ReadFull(c, make([]byte, 1000)); err != nil {
			return
		}
		c.Write(make([]byte, 3000))
	})
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{Listener: "lst"}, route("r", &l4.Backend{Upstream: "u", Pool: p}, l4.Match{}))
	c := e.dial(t)
	if _, err := c.Write(make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || len(got) != 3000 {
		t.Fatalf("read %d bytes, %v; want 3000", len(got), err)
	}
	c.Close()
	e.waitLine(t, map[string]any{
		"msg": "connection", "listener": "lst", "route": "r", "proto": "tcp", "client_ip": "127.0.0.1",
		"upstream": "u", "upstream_target": a, "bytes_up": 1000, "bytes_down": 3000, "close": "upstream_closed",
	})
	for _, m := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"direction": "upstream", "target": a, "route": "r", "listener": "lst"}, 1000},
		{map[string]string{"direction": "downstream", "target": a}, 3000},
	} {
		if got := e.metric(t, "gatehouse_l4_bytes_total", m.labels); got != m.want {
			t.Errorf("bytes %v = %v, want %v", m.labels, got, m.want)
		}
	}
	if got := e.metric(t, "gatehouse_l4_connections_total", map[string]string{"result": "ok", "upstream": "u", "target": a}); got != 1 {
		t.Errorf("ok connections = %v, want 1", got)
	}
	if got := e.metric(t, "gatehouse_l4_active_connections", map[string]string{"route": "r"}); got != 0 {
		t.Errorf("active = %v, want 0", got)
	}
}

func TestActiveGauge(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	roundTrip(t, c, "x")
	if got := e.metric(t, "gatehouse_l4_active_connections", map[string]string{"route": "r"}); got != 1 {
		t.Fatalf("active = %v, want 1", got)
	}
	c.Close()
	waitFor(t, "active to drop", func() bool {
		return e.metric(t, "gatehouse_l4_active_connections", map[string]string{"route": "r"}) == 0
	})
}
