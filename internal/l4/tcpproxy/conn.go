package tcpproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/clienthello"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// conn is one client connection from accept to close.
type conn struct {
	s     *Server
	start time.Time
	raw   net.Conn // the accepted socket
	// client is what the copy reads and writes: raw, or the *tls.Conn over
	// it in Terminate mode.
	client net.Conn
	info   l4.Conn
	route  *l4.Route
	target *balancer.Target
	// prefix holds the client bytes read before forwarding (the rest of a
	// PROXY header, a peeked ClientHello); the target gets them first.
	prefix    []byte
	up, down  int64 // bytes client → target, target → client
	forwarded bool  // the copy began
	inSetup   bool  // guarded by s.mu

	mu       sync.Mutex
	upstream net.Conn // nil until connected
	reason   string   // the first reason wins
	closed   bool
}

func newConn(s *Server, raw net.Conn) *conn {
	c := &conn{s: s, start: time.Now(), raw: raw, client: raw, inSetup: true}
	c.info.Client = addrPort(raw.RemoteAddr())
	c.info.Local = addrPort(raw.LocalAddr())
	return c
}

// addrPort is a's address with IPv4-mapped IPv6 unmapped; zero if a is
// not a TCP address.
func addrPort(a net.Addr) netip.AddrPort {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.AddrPort{}
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// serve routes, connects and forwards c; it returns true when c was handed
// to the HTTP listener (Mixed mode) instead.
func (c *conn) serve() (handedOver bool) {
	s := c.s
	table := s.routes.Load() // this connection keeps this table
	var rest []byte
	if a := s.cfg.Accept; a != nil {
		res, err := a.Read(c.raw)
		if err != nil {
			c.fail(reasonProxyProtocol, err)
			return false
		}
		if res.Source.IsValid() {
			c.info.Client = netip.AddrPortFrom(res.Source.Addr().Unmap(), res.Source.Port())
			c.info.Local = netip.AddrPortFrom(res.Destination.Addr().Unmap(), res.Destination.Port())
		}
		c.info.SNI, c.info.ALPN = res.SNI, res.ALPN // a front tier's TLVs; a peek overrides them
		rest = res.Rest
	}
	c.prefix = rest
	switch s.cfg.Mode {
	case Terminate:
		if !c.handshake(rest) {
			return false
		}
	case Mixed:
		if !c.peek(rest) {
			return false
		}
	default:
		if table.NeedsSNI && !c.peek(rest) {
			return false
		}
	}
	c.route = table.Find(&c.info)
	if c.route == nil {
		if s.cfg.Mode == Mixed {
			return c.handOver()
		}
		c.fail(reasonNoRoute, nil)
		return false
	}
	b := c.route.Backend
	if b == nil || b.Pool == nil {
		c.fail(reasonNoTarget, nil)
		return false
	}
	if s.cfg.Metrics != nil {
		g := s.cfg.Metrics.Active(s.cfg.Listener, c.route.Name)
		g.Inc()
		defer g.Dec()
	}
	up, t, reason := c.connect(s.ctx, b)
	if up == nil {
		c.fail(reason, nil)
		return false
	}
	c.target = t
	defer t.End()
	if !c.setUpstream(up) {
		return false
	}
	defer s.cfg.Tracker.Add(t, c)()
	s.forwarding(c)
	if err := c.sendPrefix(b); err != nil {
		c.fail(reasonError, err)
		return false
	}
	c.forwarded = true
	c.pipe(c.idleTimeout())
	return false
}

// idleTimeout is the route's, else the listener's (0 = none).
func (c *conn) idleTimeout() time.Duration {
	if c.route.IdleTimeout > 0 {
		return c.route.IdleTimeout
	}
	return c.s.cfg.DefaultIdleTimeout
}

// peek reads the ClientHello (after rest, the PROXY header's leftover)
// into c.info and c.prefix, within PeekTimeout. A client that sends
// nothing in time, or bytes that are not a well-formed hello, is routed as
// a connection without SNI; false when the connection is finished.
func (c *conn) peek(rest []byte) bool {
	rec := &recorder{r: io.MultiReader(bytes.NewReader(rest), c.raw), max: clienthello.MaxHelloBytes + len(rest)}
	c.raw.SetReadDeadline(time.Now().Add(c.s.cfg.PeekTimeout))
	info, _, err := clienthello.Read(rec)
	c.raw.SetReadDeadline(time.Time{})
	c.prefix = rec.buf
	switch {
	case err == nil:
		if info.TLS {
			c.info.SNI, c.info.ALPN = info.ServerName, info.ALPN
		}
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, clienthello.ErrMalformed):
		// Silent (server-first protocol) or not TLS after all: no SNI.
	case (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && len(rec.buf) > len(rest):
		// Some bytes, then a half-close: forward both.
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.fail(reasonClientClosed, nil)
		return false
	default:
		c.fail(reasonError, err)
		return false
	}
	return true
}

// recorder keeps every byte read through it, up to max (then it fails:
// the hello reader bounds itself to less).
type recorder struct {
	r   io.Reader
	buf []byte
	max int
}

func (r *recorder) Read(p []byte) (int, error) {
	if len(r.buf) >= r.max {
		return 0, clienthello.ErrMalformed
	}
	p = p[:min(len(p), r.max-len(r.buf))]
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// handshake terminates TLS (Terminate mode) and takes SNI and ALPN from
// it; false when it failed.
func (c *conn) handshake(rest []byte) bool {
	var under net.Conn = c.raw
	if len(rest) > 0 {
		under = &prefixConn{Conn: c.raw, prefix: rest}
	}
	c.prefix = nil // the handshake consumes rest
	tc := tls.Server(under, c.s.cfg.TLS)
	c.mu.Lock()
	c.client = tc
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.s.ctx, c.s.cfg.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.fail(reasonHandshake, err)
		return false
	}
	st := tc.ConnectionState()
	c.info.SNI = strings.TrimSuffix(strings.ToLower(st.ServerName), ".")
	c.info.ALPN = nil
	if st.NegotiatedProtocol != "" {
		c.info.ALPN = []string{st.NegotiatedProtocol}
	}
	return true
}

// handOver gives the connection to the HTTP listener (Mixed mode) with the
// peeked bytes replayed; true when it took it.
func (c *conn) handOver() bool {
	pc := &prefixConn{Conn: c.raw, prefix: c.prefix}
	if a := c.info.Client; a.IsValid() && a != addrPort(c.raw.RemoteAddr()) {
		pc.remote = net.TCPAddrFromAddrPort(a)
		pc.local = net.TCPAddrFromAddrPort(c.info.Local)
	}
	if c.s.http.deliver(pc) {
		return true
	}
	c.fail(reasonShutdown, nil)
	return false
}

// setUpstream records the connected target socket; false (and up closed)
// when the connection was closed meanwhile.
func (c *conn) setUpstream(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		up.Close()
		return false
	}
	c.upstream = up
	return true
}

// fail ends a connection that could not be forwarded.
func (c *conn) fail(reason string, err error) {
	if err != nil {
		c.s.cfg.Log.Debug("l4 connection failed", "listener", c.s.cfg.Listener, "client", c.info.Client, "reason", reason, "err", err)
	}
	c.abort(reason)
}

// setReason records why the connection ends unless a reason is already
// recorded; it reports whether r was recorded.
func (c *conn) setReason(r string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != "" {
		return false
	}
	c.reason = r
	return true
}

// abort records reason (if first) and closes both sides at once; a
// forwarded connection is reset (SO_LINGER 0), so neither peer mistakes a
// cut stream for a finished one.
func (c *conn) abort(reason string) {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	up := c.upstream
	c.mu.Unlock()
	if reason == reasonError {
		setLinger0(c.raw)
		setLinger0(up)
	}
	c.raw.Close()
	if up != nil {
		up.Close()
	}
}

// closeBoth closes both sides after an orderly end (no reason of its
// own: the copy that ended first set it).
func (c *conn) closeBoth() { c.abort("") }

func setLinger0(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
}

// Close is how the Tracker ends the connection: at the end of a drain's
// grace period, or of the gateway's shutdown.
func (c *conn) Close() error {
	r := reasonDrained
	if c.s.closing.Load() {
		r = reasonShutdown
	}
	c.abort(r)
	return nil
}

// record sends the ended connection to the metrics and the access log.
func (c *conn) record() {
	s := c.s
	if s.cfg.Metrics == nil && s.cfg.AccessLog == nil {
		return
	}
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	d := time.Since(c.start)
	var routeName, upstream, target string
	if c.route != nil {
		routeName = c.route.Name
		if c.route.Backend != nil {
			upstream = c.route.Backend.Upstream
		}
	}
	if c.target != nil {
		target = c.target.Addr
	}
	var client string
	if c.info.Client.IsValid() {
		client = c.info.Client.Addr().String()
	}
	proto := "tcp"
	if s.cfg.Mode == Terminate {
		proto = "tls"
	}
	s.record(&observe.ConnEntry{
		Time: c.start, Listener: s.cfg.Listener, Route: routeName, Proto: proto,
		ClientIP: client, SNI: c.info.SNI, Upstream: upstream, Target: target,
		BytesUp: c.up, BytesDown: c.down, Duration: d, Close: reason,
	}, &observe.ConnRecord{
		Listener: s.cfg.Listener, Route: routeName, Upstream: upstream, Target: target,
		Result: result(reason, c.forwarded), Up: c.up, Down: c.down, Duration: d,
	})
}
