package udpproxy

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// headroom is the space kept in front of each datagram read from the
// listener, so a PROXY v2 header (16 bytes plus 36 for IPv6 addresses)
// can be put in front of it without a copy.
const headroom = 128

// Server forwards one UDP listener's datagrams. The gateway owns the
// socket (it survives reloads); a reload calls SetRoutes.
type Server struct {
	cfg    Config
	routes atomic.Pointer[l4.Table]
	epoch  time.Time // lastActive stamps are durations since, monotonic
	bufs   sync.Pool // *[]byte of cfg.MaxDatagram, for replies

	pc    net.PacketConn
	udp   *net.UDPConn // pc, when it is one: allocation-free I/O
	local netip.AddrPort

	mu       sync.Mutex
	sessions map[netip.AddrPort]*session
	closed   bool
	wg       sync.WaitGroup // session goroutines

	noRoute prometheus.Counter // dropped datagrams that no route took
	pending atomic.Int64       // bytes queued by sessions being opened
}

// New returns a server for routes (nil = none yet).
func New(cfg Config, routes *l4.Table) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, epoch: time.Now(), sessions: map[netip.AddrPort]*session{}}
	s.bufs.New = func() any { b := make([]byte, cfg.MaxDatagram); return &b }
	s.SetRoutes(routes)
	if cfg.Metrics != nil {
		s.noRoute = cfg.Metrics.Datagrams(cfg.Listener, "", "dropped")
	}
	return s
}

// SetRoutes replaces the route table; open sessions keep their route and
// target, new sessions use the new table.
func (s *Server) SetRoutes(t *l4.Table) {
	if t == nil {
		t = l4.NewTable(nil)
	}
	s.routes.Store(t)
}

// Sessions is the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Serve reads datagrams from pc until Close (then it returns nil) or a
// read error. pc is not closed: the gateway owns it. Serve clears any
// read deadline first, so a socket kept across a reload can be handed to
// a new server once the old one's Close has returned. Call Serve once.
func (s *Server) Serve(pc net.PacketConn) error {
	// Cleared before closed is checked, so a Close that runs from here
	// on sets its wake-up deadline after this one.
	if err := pc.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.pc = pc
	s.udp, _ = pc.(*net.UDPConn)
	s.local = addrPort(pc.LocalAddr())
	s.mu.Unlock()
	buf := make([]byte, headroom+s.cfg.MaxDatagram)
	for {
		n, client, err := s.read(buf[headroom:])
		if err != nil {
			if s.isClosed() {
				return nil
			}
			return err
		}
		s.handle(client, buf, n)
	}
}

func (s *Server) read(b []byte) (int, netip.AddrPort, error) {
	if s.udp != nil {
		return s.udp.ReadFromUDPAddrPort(b)
	}
	n, from, err := s.pc.ReadFrom(b)
	return n, addrPort(from), err
}

// writeTo sends a reply to a client from the listener's socket.
func (s *Server) writeTo(b []byte, client netip.AddrPort) error {
	if s.udp != nil {
		_, err := s.udp.WriteToUDPAddrPort(b, client)
		return err
	}
	_, err := s.pc.WriteTo(b, net.UDPAddrFromAddrPort(client))
	return err
}

func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// handle forwards the datagram buf[headroom:headroom+n] from client to its
// session, opening one when the client has none (or its last one has just
// ended).
func (s *Server) handle(client netip.AddrPort, buf []byte, n int) {
	s.mu.Lock()
	sess := s.sessions[client]
	s.mu.Unlock()
	if sess != nil && sess.forward(buf, headroom, n) {
		return
	}
	sess = s.open(client)
	if sess == nil {
		return
	}
	// Queued before the session runs: a fire-and-forget session ends as
	// soon as its socket is open and its queue sent, so a datagram
	// forwarded after start could find it ended already.
	if !sess.forward(buf, headroom, n) {
		sess.dropped() // Close ended it as soon as it was in the table
	}
	sess.start()
}

// open returns a new session for client, in the table but not started,
// or counts the datagram dropped and returns nil when it has no route or
// target or the table is full.
func (s *Server) open(client netip.AddrPort) *session {
	c := &l4.Conn{Client: unmap(client), Local: unmap(s.local)}
	route := s.routes.Load().Find(c)
	if route == nil || route.Backend == nil || route.Backend.Pool == nil {
		s.refuse(nil, "no_route")
		return nil
	}
	if s.Sessions() >= s.cfg.MaxSessions {
		s.refuse(route, "limited")
		return nil
	}
	b := route.Backend
	t := s.pick(b, c.BalancerRequest())
	if t == nil {
		s.refuse(route, "no_target")
		return nil
	}
	var header []byte
	switch b.ProxyProtocol {
	case 0:
	case 2:
		h, err := proxyproto.HeaderDatagram(c.Client, c.Local)
		if err != nil {
			s.cfg.Log.Error("udp: PROXY protocol header", "listener", s.cfg.Listener, "route", route.Name, "error", err)
			s.refuse(route, "proxy_protocol")
			return nil
		}
		header = h
	default:
		// Only v2 has a datagram form; configuration rejects v1 for UDP.
		s.cfg.Log.Error("udp: PROXY protocol v1 cannot carry datagrams", "listener", s.cfg.Listener, "route", route.Name)
		s.refuse(route, "proxy_protocol")
		return nil
	}
	sess := newSession(s, client, c, route, t, header)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.sessions[client] = sess
	s.wg.Add(1)
	s.mu.Unlock()
	return sess
}

// pick chooses the session's target, skipping targets that hold
// MaxConnsPerTarget sessions (counted by the tracker, so with the TCP
// connections of routes sharing the pool). Pool.Pick skips one target at
// a time, so a few full targets are tried in turn.
func (s *Server) pick(b *l4.Backend, r *http.Request) *balancer.Target {
	var skip *balancer.Target
	for range max(len(b.Pool.Targets()), 1) {
		t := b.Pool.Pick(r, skip)
		if t == nil || b.MaxConnsPerTarget <= 0 || s.cfg.Tracker.Open(t) < b.MaxConnsPerTarget {
			return t
		}
		skip = t
	}
	return nil
}

// refuse counts a datagram that opened no session.
func (s *Server) refuse(route *l4.Route, result string) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	rec := observe.ConnRecord{Listener: s.cfg.Listener, Result: result}
	if route == nil {
		s.noRoute.Inc()
	} else {
		rec.Route = route.Name
		rec.Upstream = route.Backend.Upstream
		m.Datagrams(s.cfg.Listener, route.Name, "dropped").Inc()
	}
	m.Ended(&rec)
}

// remove forgets sess (if it is still the client's session).
func (s *Server) remove(sess *session) {
	s.mu.Lock()
	if s.sessions[sess.client] == sess {
		delete(s.sessions, sess.client)
	}
	s.mu.Unlock()
}

// Close ends every session (reason shutdown), makes Serve return and waits
// for the sessions' goroutines. It does not close the socket.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	pc := s.pc
	open := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	var err error
	if pc != nil {
		// Wakes Serve's ReadFrom; Serve sees closed and returns nil.
		err = pc.SetReadDeadline(time.Unix(1, 0))
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	}
	for _, sess := range open {
		sess.end(closeShutdown)
	}
	s.wg.Wait()
	return err
}

// now is the monotonic time since the server started, for idle stamps.
func (s *Server) now() int64 { return int64(time.Since(s.epoch)) }

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
