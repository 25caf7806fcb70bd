package udpproxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

// TestRequestResponse: a DNS-style exchange goes through: the query
// reaches the target, its answer comes back to the client from the
// listener's address, and the session is counted and logged.
func TestRequestResponse(t *testing.T) {
	b := newBackend(t, "A", 1)
	p := startProxy(t, nil, Config{}, route("dns", newPool(t, "round_robin", balancer.Options{}, b), 1))
	c := p.client(t)
	send(t, c, "query-1")
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 512)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "A:query-1" {
		t.Fatalf("reply %q, want A:query-1", got)
	}
	if from != p.addr.AddrPort() {
		t.Fatalf("reply came from %v, want the listener %v", from, p.addr)
	}
	if d := b.received(t); d.data != "query-1" {
		t.Fatalf("backend received %q", d.data)
	}
	p.idleAll(t)
	p.logged(t, `"proto":"udp"`, `"route":"dns"`, `"bytes_up":7`, `"bytes_down":9`, `"close":"upstream_closed"`, `"upstream_target":"`+b.addr+`"`)
	if v := testutil.ToFloat64(p.metrics.Datagrams("udp-in", "dns", "upstream")); v != 1 {
		t.Errorf("upstream datagrams = %v", v)
	}
	if v := testutil.ToFloat64(p.metrics.Datagrams("udp-in", "dns", "downstream")); v != 1 {
		t.Errorf("downstream datagrams = %v", v)
	}
	if v := testutil.ToFloat64(p.metrics.Active("udp-in", "dns")); v != 0 {
		t.Errorf("active sessions = %v after the session ended", v)
	}
}

// TestSessionAffinity: one client socket stays on one target for as long
// as its session lives; new client ports are spread round robin.
func TestSessionAffinity(t *testing.T) {
	bs := []*backend{newBackend(t, "A", 1), newBackend(t, "B", 1), newBackend(t, "C", 1)}
	p := startProxy(t, nil, Config{}, route("dns", newPool(t, "round_robin", balancer.Options{}, bs...), -1))
	first := p.client(t)
	id := replyID(exchange(t, first, "q0"))
	for i := 1; i < 20; i++ {
		if got := replyID(exchange(t, first, fmt.Sprint("q", i))); got != id {
			t.Fatalf("request %d of one client went to %s, earlier ones to %s", i, got, id)
		}
	}
	if n := p.Sessions(); n != 1 {
		t.Fatalf("%d sessions for one client", n)
	}
	seen := map[string]bool{id: true}
	for range 2 {
		seen[replyID(exchange(t, p.client(t), "q"))] = true
	}
	if len(seen) != 3 {
		t.Fatalf("three client ports reached targets %v, want all three", seen)
	}
	if n := p.Sessions(); n != 3 {
		t.Fatalf("%d sessions for three clients", n)
	}
}

// TestHashAffinityAcrossSessions: with hash on client_ip, every session of
// a client (here one per request: responses 1) lands on the same target.
func TestHashAffinityAcrossSessions(t *testing.T) {
	bs := []*backend{newBackend(t, "A", 1), newBackend(t, "B", 1), newBackend(t, "C", 1)}
	pool := newPool(t, "hash", balancer.Options{HashOn: balancer.HashOnClientIP}, bs...)
	p := startProxy(t, nil, Config{}, route("dns", pool, 1))
	id := ""
	for i := range 10 {
		got := replyID(exchange(t, p.client(t), fmt.Sprint("q", i)))
		if id == "" {
			id = got
		} else if got != id {
			t.Fatalf("session %d of 127.0.0.1 went to %s, the first to %s", i, got, id)
		}
	}
}

// TestIdleExpiry: a session with no traffic for the idle timeout ends and
// is accounted for (tracker, target, gauge, log line).
func TestIdleExpiry(t *testing.T) {
	b := newBackend(t, "A", 1)
	pool := newPool(t, "round_robin", balancer.Options{}, b)
	p := startProxy(t, nil, Config{DefaultIdleTimeout: 50 * time.Millisecond}, route("dns", pool, -1))
	c := p.client(t)
	if r := exchange(t, c, "q"); r != "A:q" {
		t.Fatalf("reply %q", r)
	}
	p.idleAll(t)
	p.logged(t, `"close":"idle_timeout"`)
	if n := pool.Targets()[0].InFlight(); n != 0 {
		t.Fatalf("target in flight %d after the session expired", n)
	}
	if v := testutil.ToFloat64(p.metrics.Active("udp-in", "dns")); v != 0 {
		t.Errorf("active sessions = %v", v)
	}
	// The same client socket gets a new session.
	if r := exchange(t, c, "again"); r != "A:again" {
		t.Fatalf("reply after expiry %q", r)
	}
}

// TestRouteIdleTimeoutOverrides: the route's IdleTimeout wins over the
// listener's default.
func TestRouteIdleTimeoutOverrides(t *testing.T) {
	b := newBackend(t, "A", 1)
	r := route("dns", newPool(t, "round_robin", balancer.Options{}, b), -1)
	r.IdleTimeout = 50 * time.Millisecond
	p := startProxy(t, nil, Config{DefaultIdleTimeout: time.Hour}, r)
	exchange(t, p.client(t), "q")
	p.idleAll(t)
}

// TestResponsesEndSession: with responses N the session ends once N
// replies per request came back, long before the idle timeout; the next
// request from the same client socket opens a new session.
func TestResponsesEndSession(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint("responses=", n), func(t *testing.T) {
			b := newBackend(t, "A", n)
			p := startProxy(t, nil, Config{DefaultIdleTimeout: time.Hour}, route("dns", newPool(t, "round_robin", balancer.Options{}, b), n))
			c := p.client(t)
			for i := range 2 {
				for j := range n {
					want := fmt.Sprintf("A:q%d", i)
					if j > 0 {
						want += fmt.Sprintf("#%d", j)
					}
					if r := recvAfter(t, c, fmt.Sprint("q", i), j == 0); r != want {
						t.Fatalf("reply %q, want %q", r, want)
					}
				}
				p.idleAll(t)
			}
			waitFor(t, "two sessions logged as ended by their responses", func() bool {
				return strings.Count(p.log.String(), `"close":"upstream_closed"`) == 2
			})
		})
	}
}

// recvAfter sends msg first when sendFirst, then reads one reply.
func recvAfter(t *testing.T, c *net.UDPConn, msg string, sendFirst bool) string {
	t.Helper()
	if sendFirst {
		send(t, c, msg)
	}
	return recv(t, c)
}

// TestFireAndForget: responses 0 forwards and ends the session at once,
// without waiting for a reply or for the (long) idle timeout.
func TestFireAndForget(t *testing.T) {
	b := newBackend(t, "syslog", 0)
	p := startProxy(t, nil, Config{DefaultIdleTimeout: time.Hour}, route("logs", newPool(t, "round_robin", balancer.Options{}, b), 0))
	c := p.client(t)
	// Many rounds: each new session's datagram must be queued before the
	// session can end itself (a race the first version lost now and then).
	for i := range 30 {
		send(t, c, fmt.Sprint("<13>msg ", i))
		if d := b.received(t); d.data != fmt.Sprint("<13>msg ", i) {
			t.Fatalf("backend received %q", d.data)
		}
		p.idleAll(t)
	}
	p.logged(t, `"close":"client_closed"`, `"bytes_up":10`, `"bytes_down":0`)
}

// TestMaxSessions: while the table is full, a new client's datagrams are
// dropped and counted; existing sessions keep working.
func TestMaxSessions(t *testing.T) {
	b := newBackend(t, "A", 1)
	p := startProxy(t, nil, Config{MaxSessions: 2}, route("dns", newPool(t, "round_robin", balancer.Options{}, b), -1))
	c1, c2, c3 := p.client(t), p.client(t), p.client(t)
	exchange(t, c1, "one")
	exchange(t, c2, "two")
	send(t, c3, "three")
	dropped := p.metrics.Datagrams("udp-in", "dns", "dropped")
	waitFor(t, "the third client's datagram to be dropped", func() bool { return testutil.ToFloat64(dropped) == 1 })
	if n := p.Sessions(); n != 2 {
		t.Fatalf("%d sessions, limit 2", n)
	}
	if r := exchange(t, c1, "still"); r != "A:still" {
		t.Fatalf("existing session: %q", r)
	}
	if d := b.received(t); d.data != "one" {
		t.Fatalf("backend got %q first", d.data)
	}
	for _, want := range []string{"two", "still"} {
		if d := b.received(t); d.data != want {
			t.Fatalf("backend got %q, want %q (the dropped datagram must not arrive)", d.data, want)
		}
	}
}

// TestMaxConnsPerTarget: a target holding MaxConnsPerTarget sessions is
// skipped; hash on client_ip would otherwise put every local client on
// one target.
func TestMaxConnsPerTarget(t *testing.T) {
	bs := []*backend{newBackend(t, "A", 1), newBackend(t, "B", 1)}
	r := route("dns", newPool(t, "hash", balancer.Options{HashOn: balancer.HashOnClientIP}, bs...), -1)
	r.Backend.MaxConnsPerTarget = 1
	p := startProxy(t, nil, Config{}, r)
	first := replyID(exchange(t, p.client(t), "q"))
	second := replyID(exchange(t, p.client(t), "q"))
	if first == second {
		t.Fatalf("both sessions on %s with 1 session per target allowed", first)
	}
	send(t, p.client(t), "q")
	waitFor(t, "the third session to be refused", func() bool {
		return testutil.ToFloat64(p.metrics.Datagrams("udp-in", "dns", "dropped")) == 1
	})
}

// TestDrainRemovedTarget: when a reload removes a target, the tracker ends
// its sessions (reason drained) and the client's next datagram opens a
// session to the new target.
func TestDrainRemovedTarget(t *testing.T) {
	a, b := newBackend(t, "A", 1), newBackend(t, "B", 1)
	pool := newPool(t, "round_robin", balancer.Options{}, a)
	p := startProxy(t, nil, Config{DefaultIdleTimeout: time.Hour}, route("dns", pool, -1))
	c := p.client(t)
	if r := exchange(t, c, "q1"); r != "A:q1" {
		t.Fatalf("reply %q", r)
	}
	removed, err := pool.Update("round_robin", []*balancer.Target{target(t, b.addr)})
	if err != nil {
		t.Fatal(err)
	}
	if p.tracker.Open(removed[0]) != 1 {
		t.Fatalf("tracker holds %d sessions of the removed target", p.tracker.Open(removed[0]))
	}
	p.tracker.Drain(removed, time.Millisecond)
	p.idleAll(t)
	p.logged(t, `"close":"drained"`, `"upstream_target":"`+a.addr+`"`)
	if r := exchange(t, c, "q2"); r != "B:q2" {
		t.Fatalf("reply after drain %q, want B:q2", r)
	}
}

// TestRouteByClientIPAndPort: routes match the client's IP range and the
// port the client sent to; the default route takes the rest.
func TestRouteByClientIPAndPort(t *testing.T) {
	pc := listen(t)
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	x, y, z := newBackend(t, "X", 1), newBackend(t, "Y", 1), newBackend(t, "Z", 1)
	byIP := route("by-ip", newPool(t, "round_robin", balancer.Options{}, x), 1)
	byIP.Match.ClientIPs = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	otherPort := route("other-port", newPool(t, "round_robin", balancer.Options{}, z), 1)
	otherPort.Match.DestinationPorts = []uint16{port + 1}
	byPort := route("by-port", newPool(t, "round_robin", balancer.Options{}, y), 1)
	byPort.Match.DestinationPorts = []uint16{port}
	p := startProxy(t, pc, Config{}, otherPort, byIP, byPort)
	if r := exchange(t, p.client(t, net.IPv4(127, 0, 0, 2)), "q"); r != "X:q" {
		t.Fatalf("client 127.0.0.2: reply %q, want X (client_ips route)", r)
	}
	if r := exchange(t, p.client(t), "q"); r != "Y:q" {
		t.Fatalf("client 127.0.0.1: reply %q, want Y (destination port route)", r)
	}
}

// TestNoRoute: a datagram no route takes is dropped and counted.
func TestNoRoute(t *testing.T) {
	x := newBackend(t, "X", 1)
	r := route("elsewhere", newPool(t, "round_robin", balancer.Options{}, x), 1)
	r.Match.ClientIPs = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	p := startProxy(t, nil, Config{}, r)
	send(t, p.client(t), "q")
	waitFor(t, "the datagram to be dropped", func() bool {
		return testutil.ToFloat64(p.metrics.Datagrams("udp-in", "", "dropped")) == 1
	})
	if n := p.Sessions(); n != 0 {
		t.Fatalf("%d sessions without a route", n)
	}
}

// TestSetRoutes: a new table applies to new sessions; an open session
// keeps its route and target.
func TestSetRoutes(t *testing.T) {
	a, b := newBackend(t, "A", 1), newBackend(t, "B", 1)
	p := startProxy(t, nil, Config{}, route("old", newPool(t, "round_robin", balancer.Options{}, a), -1))
	old := p.client(t)
	exchange(t, old, "q")
	p.SetRoutes(l4.NewTable([]*l4.Route{route("new", newPool(t, "round_robin", balancer.Options{}, b), -1)}))
	if r := exchange(t, old, "q"); r != "A:q" {
		t.Fatalf("open session after SetRoutes: %q, want A", r)
	}
	if r := exchange(t, p.client(t), "q"); r != "B:q" {
		t.Fatalf("new session after SetRoutes: %q, want B", r)
	}
}

// TestUpstreamRefused: an ICMP port unreachable from the target (read as
// ECONNREFUSED) ends the session and is reported to passive health.
func TestUpstreamRefused(t *testing.T) {
	dead, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.LocalAddr().String()
	dead.Close()
	pool := balancer.NewPool("dns")
	if _, err := pool.Update("round_robin", []*balancer.Target{target(t, addr)}); err != nil {
		t.Fatal(err)
	}
	r := route("dns", pool, -1)
	var mu sync.Mutex
	var reported []error
	r.Backend.Report = func(_ *balancer.Target, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}
	p := startProxy(t, nil, Config{DefaultIdleTimeout: time.Hour}, r)
	send(t, p.client(t), "q")
	p.idleAll(t)
	p.logged(t, `"close":"connect_failed"`)
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || !errors.Is(reported[0], syscall.ECONNREFUSED) {
		t.Fatalf("reported %v, want one ECONNREFUSED", reported)
	}
}

// TestProxyProtocolV2: every upstream datagram carries the PROXY v2
// header of the client and listener addresses.
func TestProxyProtocolV2(t *testing.T) {
	if _, err := proxyproto.HeaderDatagram(netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2")); err != nil && strings.Contains(err.Error(), "not implemented") {
		t.Skip("proxyproto.HeaderDatagram is not implemented in this tree yet")
	}
	b := newBackend(t, "A", 1)
	r := route("dns", newPool(t, "round_robin", balancer.Options{}, b), -1)
	r.Backend.ProxyProtocol = 2
	p := startProxy(t, nil, Config{}, r)
	c := p.client(t)
	want, err := proxyproto.HeaderDatagram(c.LocalAddr().(*net.UDPAddr).AddrPort(), p.addr.AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"one", "two"} {
		send(t, c, msg)
		if d := b.received(t); d.data != string(want)+msg {
			t.Fatalf("backend received %q, want header %q then %q", d.data, want, msg)
		}
		recv(t, c)
	}
}

// TestCloseEndsSessions: Close ends open sessions (reason shutdown) and
// returns once their goroutines have (goleak checks the rest).
func TestCloseEndsSessions(t *testing.T) {
	b := newBackend(t, "A", 1)
	p := startProxy(t, nil, Config{DefaultIdleTimeout: time.Hour}, route("dns", newPool(t, "round_robin", balancer.Options{}, b), -1))
	for range 3 {
		exchange(t, p.client(t), "q")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n, open := p.Sessions(), p.tracker.Total(); n != 0 || open != 0 {
		t.Fatalf("after Close: %d sessions, %d tracked", n, open)
	}
	p.logged(t, `"close":"shutdown"`)
}

// TestPendingBounded: datagrams that arrive while a session's socket is
// being opened queue up to maxPending per session and maxPendingBytes per
// server; the rest are dropped and counted.
func TestPendingBounded(t *testing.T) {
	b := newBackend(t, "A", 1)
	r := route("dns", newPool(t, "round_robin", balancer.Options{}, b), -1)
	p := startProxy(t, nil, Config{}, r)
	c := &l4.Conn{}
	// Not started: its socket is never opened, so everything queues.
	s1 := newSession(p.Server, netip.MustParseAddrPort("127.0.0.1:1"), c, r, r.Backend.Pool.Targets()[0], nil)
	small := make([]byte, headroom+10)
	for range maxPending + 4 {
		if !s1.forward(small, headroom, 10) {
			t.Fatal("forward refused by an open session")
		}
	}
	dropped := p.metrics.Datagrams("udp-in", "dns", "dropped")
	if len(s1.pending) != maxPending || testutil.ToFloat64(dropped) != 4 {
		t.Fatalf("queued %d, dropped %v; want %d and 4", len(s1.pending), testutil.ToFloat64(dropped), maxPending)
	}
	big := make([]byte, headroom+60000)
	queued := 0
	for i := range 200 {
		s := newSession(p.Server, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), uint16(i+1)), c, r, r.Backend.Pool.Targets()[0], nil)
		s.forward(big, headroom, 60000)
		queued += len(s.pending)
	}
	if limit := (maxPendingBytes - 10*maxPending) / 60000; queued != limit || p.pending.Load() > maxPendingBytes {
		t.Fatalf("queued %d datagrams of 60000 bytes (%d bytes in all) across sessions, want %d within the budget of %d bytes",
			queued, p.pending.Load(), limit, maxPendingBytes)
	}
}
