package udpproxy

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/observe"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait bounds every wait of these tests: generous, for a shared machine.
const wait = 15 * time.Second

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// datagram is what a backend received: payload and source.
type datagram struct {
	data string
	from netip.AddrPort
}

// backend is a UDP server that answers each datagram with `replies`
// datagrams "<id>:<payload>" (numbered "#n" after the first when more
// than one) and records what it received.
type backend struct {
	id      string
	addr    string
	pc      *net.UDPConn
	got     chan datagram
	replies int
}

func newBackend(t *testing.T, id string, replies int) *backend {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{id: id, addr: pc.LocalAddr().String(), pc: pc, got: make(chan datagram, 1024), replies: replies}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			msg := string(buf[:n])
			select {
			case b.got <- datagram{msg, from}:
			default:
			}
			for i := range b.replies {
				r := id + ":" + msg
				if i > 0 {
					r += "#" + string(rune('0'+i))
				}
				_, _ = pc.WriteToUDPAddrPort([]byte(r), from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return b
}

// received waits for the next datagram the backend got.
func (b *backend) received(t *testing.T) datagram {
	t.Helper()
	select {
	case d := <-b.got:
		return d
	case <-time.After(wait):
		t.Fatalf("backend %s received nothing", b.id)
		return datagram{}
	}
}

func target(t *testing.T, addr string) *balancer.Target {
	t.Helper()
	return balancer.NewTarget(&url.URL{Scheme: "udp", Host: addr}, 1)
}

// newPool returns a pool of the backends' targets.
func newPool(t *testing.T, algorithm string, o balancer.Options, bs ...*backend) *balancer.Pool {
	t.Helper()
	p := balancer.NewPool("dns")
	ts := make([]*balancer.Target, len(bs))
	for i, b := range bs {
		ts[i] = target(t, b.addr)
	}
	if _, err := p.UpdateWithOptions(algorithm, ts, o); err != nil {
		t.Fatal(err)
	}
	return p
}

// route is a default route to pool.
func route(name string, p *balancer.Pool, responses int) *l4.Route {
	return &l4.Route{Name: name, Backend: &l4.Backend{Upstream: p.Name, Pool: p}, Responses: responses}
}

// syncBuffer is an io.Writer safe for the access log's flusher and the
// test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proxy is a running Server on its own 127.0.0.1 socket.
type proxy struct {
	*Server
	pc      *net.UDPConn
	addr    *net.UDPAddr
	metrics *observe.L4Metrics
	log     *syncBuffer
	tracker *l4.Tracker
}

// listen binds the proxy's socket first, so routes can match its port.
func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// startProxy serves routes on pc (nil = a new socket) with cfg, plus
// metrics, an access log and a tracker when cfg has none.
func startProxy(t *testing.T, pc *net.UDPConn, cfg Config, routes ...*l4.Route) *proxy {
	t.Helper()
	if pc == nil {
		pc = listen(t)
	}
	logBuf := &syncBuffer{}
	if cfg.Listener == "" {
		cfg.Listener = "udp-in"
	}
	if cfg.Metrics == nil {
		cfg.Metrics = observe.NewMetrics().L4()
	}
	if cfg.AccessLog == nil {
		al := observe.NewAccessLog(logBuf)
		t.Cleanup(al.Close)
		cfg.AccessLog = al
	}
	if cfg.Tracker == nil {
		cfg.Tracker = l4.NewTracker()
	}
	cfg.Log = slog.New(slog.DiscardHandler)
	s := New(cfg, l4.NewTable(routes))
	served := make(chan error, 1)
	go func() { served <- s.Serve(pc) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve returned %v after Close, want nil", err)
			}
		case <-time.After(wait):
			t.Error("Serve did not return after Close")
		}
	})
	return &proxy{Server: s, pc: pc, addr: pc.LocalAddr().(*net.UDPAddr), metrics: cfg.Metrics, log: logBuf, tracker: cfg.Tracker}
}

// client is a UDP socket talking to the proxy from 127.0.0.1 (or from).
func (p *proxy) client(t *testing.T, from ...net.IP) *net.UDPConn {
	t.Helper()
	var laddr *net.UDPAddr
	if len(from) > 0 {
		laddr = &net.UDPAddr{IP: from[0]}
	}
	c, err := net.DialUDP("udp", laddr, p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// send writes msg to the proxy.
func send(t *testing.T, c *net.UDPConn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// recv reads one reply.
func recv(t *testing.T, c *net.UDPConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("reading reply: %v", err)
	}
	return string(buf[:n])
}

// exchange sends msg and returns the reply.
func exchange(t *testing.T, c *net.UDPConn, msg string) string {
	t.Helper()
	send(t, c, msg)
	return recv(t, c)
}

// replyID is the backend id a reply "<id>:<payload>" came from.
func replyID(r string) string {
	id, _, _ := strings.Cut(r, ":")
	return id
}

// logged waits for an access log line containing every part.
func (p *proxy) logged(t *testing.T, parts ...string) {
	t.Helper()
	waitFor(t, "access log line with "+strings.Join(parts, ", "), func() bool {
		for _, line := range strings.Split(p.log.String(), "\n") {
			ok := line != ""
			for _, part := range parts {
				ok = ok && strings.Contains(line, part)
			}
			if ok {
				return true
			}
		}
		return false
	})
}

// idleAll waits until the proxy has no session and the tracker no entry
// (every session's accounting done).
func (p *proxy) idleAll(t *testing.T) {
	t.Helper()
	waitFor(t, "every session to end", func() bool { return p.Sessions() == 0 && p.tracker.Total() == 0 })
}
