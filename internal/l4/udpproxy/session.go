package udpproxy

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// Close reasons of the access log (observe.ConnEntry.Close).
const (
	closeUpstream      = "upstream_closed" // the expected responses came back
	closeClient        = "client_closed"   // fire and forget: delivered
	closeIdle          = "idle_timeout"
	closeDrained       = "drained"
	closeShutdown      = "shutdown"
	closeConnectFailed = "connect_failed"
	closeError         = "error"
)

// session is one client's exchange with one target: a connected UDP
// socket, the goroutine that opens it and then reads the target's replies,
// and the timer that ends it when idle.
type session struct {
	srv    *Server
	client netip.AddrPort // as the listener socket reported it: key and reply address
	conn   *l4.Conn
	route  *l4.Route
	target *balancer.Target
	header []byte // PROXY v2 header put in front of every datagram, or nil
	idle   time.Duration

	started time.Time
	ctx     context.Context // cancelled when the session ends, to stop a dial
	cancel  context.CancelFunc
	untrack func()

	upC, downC, dropC prometheus.Counter // nil without metrics
	active            prometheus.Gauge

	lastActive atomic.Int64 // Server.now() of the last datagram either way
	bytesUp    atomic.Int64 // payload bytes, PROXY headers not counted
	bytesDown  atomic.Int64
	replied    atomic.Bool

	mu          sync.Mutex
	up          *net.UDPConn // nil while being opened
	pending     [][]byte     // datagrams that came while up was being opened
	outstanding int          // replies still expected (route.Responses > 0)
	ended       bool
	reason      string
	timer       *time.Timer
}

func newSession(srv *Server, client netip.AddrPort, c *l4.Conn, route *l4.Route, t *balancer.Target, header []byte) *session {
	idle := route.IdleTimeout
	if idle <= 0 {
		idle = srv.cfg.DefaultIdleTimeout
	}
	s := &session{srv: srv, client: client, conn: c, route: route, target: t, header: header, idle: idle, started: time.Now()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if m := srv.cfg.Metrics; m != nil {
		s.upC = m.Datagrams(srv.cfg.Listener, route.Name, "upstream")
		s.downC = m.Datagrams(srv.cfg.Listener, route.Name, "downstream")
		s.dropC = m.Datagrams(srv.cfg.Listener, route.Name, "dropped")
		s.active = m.Active(srv.cfg.Listener, route.Name)
	}
	return s
}

// start counts the session open and runs it.
func (s *session) start() {
	s.target.Begin()
	s.untrack = s.srv.cfg.Tracker.Add(s.target, s)
	if s.active != nil {
		s.active.Inc()
	}
	s.lastActive.Store(s.srv.now())
	s.mu.Lock()
	if !s.ended { // Close may have ended it as soon as it was in the table
		s.timer = time.AfterFunc(s.idle, s.checkIdle)
	}
	s.mu.Unlock()
	go s.run()
}

// run opens the upstream socket, sends what queued meanwhile, then reads
// replies until the session ends.
func (s *session) run() {
	defer s.srv.wg.Done()
	defer s.finish()
	b := s.route.Backend
	timeout := b.ConnectTimeout
	if timeout <= 0 {
		timeout = l4.DefaultConnectTimeout
	}
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(s.ctx, "udp", s.target.Addr)
	if err != nil {
		s.fail(err, true)
		return
	}
	up := c.(*net.UDPConn)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		up.Close()
		return
	}
	var werr error
	for _, p := range s.pending {
		if _, werr = up.Write(p); werr != nil {
			break
		}
	}
	s.srv.pending.Add(-pendingBytes(s.pending))
	s.pending = nil
	s.up = up
	s.mu.Unlock()
	if werr != nil {
		s.fail(werr, false)
		return
	}
	if s.route.Responses == 0 {
		s.end(closeClient)
		return
	}
	if err := s.readReplies(up); err != nil {
		s.fail(err, false)
	}
}

// forward sends the datagram buf[off:off+n] (buf[:off] is free room for
// the PROXY header) to the target, or queues it while the socket is being
// opened. It returns false when the session has ended: the caller opens a
// new one.
func (s *session) forward(buf []byte, off, n int) bool {
	pkt := buf[off : off+n]
	if h := s.header; len(h) > 0 {
		if len(h) <= off {
			copy(buf[off-len(h):], h)
			pkt = buf[off-len(h) : off+n]
		} else {
			pkt = append(bytes.Clone(h), pkt...)
		}
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	var err error
	if s.up == nil {
		if len(s.pending) >= maxPending || s.srv.pending.Add(int64(len(pkt))) > maxPendingBytes {
			if len(s.pending) < maxPending {
				s.srv.pending.Add(-int64(len(pkt)))
			}
			s.mu.Unlock()
			s.dropped()
			return true
		}
		s.pending = append(s.pending, bytes.Clone(pkt))
	} else {
		_, err = s.up.Write(pkt)
	}
	if err == nil && s.route.Responses > 0 {
		s.outstanding += s.route.Responses
	}
	s.mu.Unlock()
	if err != nil {
		s.dropped()
		s.fail(err, false)
		return true
	}
	s.lastActive.Store(s.srv.now())
	s.bytesUp.Add(int64(n))
	if s.upC != nil {
		s.upC.Inc()
	}
	return true
}

// reply sends one datagram of the target back to the client; false ends
// the reading: the expected responses have all come back.
func (s *session) reply(b []byte) bool {
	s.lastActive.Store(s.srv.now())
	if err := s.srv.writeTo(b, s.client); err != nil {
		s.dropped()
	} else {
		s.bytesDown.Add(int64(len(b)))
		if s.downC != nil {
			s.downC.Inc()
		}
	}
	if !s.replied.Swap(true) {
		if r := s.route.Backend.Report; r != nil {
			r(s.target, nil) // the target answers: passive health's success
		}
	}
	if s.route.Responses <= 0 {
		return true
	}
	s.mu.Lock()
	s.outstanding--
	done := s.outstanding <= 0
	s.mu.Unlock()
	if done {
		s.end(closeUpstream)
		return false
	}
	return true
}

func (s *session) dropped() {
	if s.dropC != nil {
		s.dropC.Inc()
	}
}

// fail ends the session for an error of its upstream socket. A refusal
// (ICMP port unreachable, read as ECONNREFUSED) or a failed dial is a
// connect failure, reported to passive health checking.
func (s *session) fail(err error, dial bool) {
	reason := closeError
	if dial || errors.Is(err, syscall.ECONNREFUSED) {
		reason = closeConnectFailed
	}
	if !s.end(reason) {
		return // ended already; the error is the closed socket's
	}
	if reason == closeConnectFailed {
		if r := s.route.Backend.Report; r != nil {
			r(s.target, err)
		}
	}
	s.srv.cfg.Log.Debug("udp session failed", "listener", s.srv.cfg.Listener, "route", s.route.Name,
		"target", s.target.Addr, "client", s.conn.Client.String(), "error", err)
}

// checkIdle is the idle timer: it ends the session when no datagram went
// either way for s.idle, else sets itself for when that would be.
func (s *session) checkIdle() {
	quiet := time.Duration(s.srv.now() - s.lastActive.Load())
	if quiet >= s.idle {
		s.end(closeIdle)
		return
	}
	s.mu.Lock()
	if !s.ended {
		s.timer.Reset(s.idle - quiet)
	}
	s.mu.Unlock()
}

// Close ends the session: the tracker calls it to drain a removed target
// (or at shutdown, after the grace period).
func (s *session) Close() error {
	reason := closeShutdown
	if s.target.Draining() && !s.srv.isClosed() {
		reason = closeDrained
	}
	s.end(reason)
	return nil
}

// end marks the session ended for reason, takes it out of the table and
// closes its socket, which ends run's reading; false when it had ended
// already. Safe from any goroutine.
func (s *session) end(reason string) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	s.ended = true
	s.reason = reason
	up, timer := s.up, s.timer
	s.mu.Unlock()
	s.cancel()
	if timer != nil {
		timer.Stop()
	}
	s.srv.remove(s)
	if up != nil {
		up.Close()
	}
	return true
}

// finish accounts for the ended session: tracker, target, metrics and
// the access log line.
func (s *session) finish() {
	s.end(closeError) // no-op unless run returned without ending it
	s.mu.Lock()
	reason := s.reason
	lost := len(s.pending)
	s.srv.pending.Add(-pendingBytes(s.pending))
	s.pending = nil
	s.mu.Unlock()
	for range lost {
		s.dropped()
	}
	s.untrack()
	s.target.End()
	if s.active != nil {
		s.active.Dec()
	}
	dur := time.Since(s.started)
	cfg := &s.srv.cfg
	if cfg.Metrics != nil {
		result := "ok"
		switch reason {
		case closeConnectFailed:
			result = "connect_failed"
		case closeError:
			result = "error"
		}
		cfg.Metrics.Ended(&observe.ConnRecord{
			Listener: cfg.Listener, Route: s.route.Name, Upstream: s.route.Backend.Upstream,
			Target: s.target.Addr, Result: result,
			Up: s.bytesUp.Load(), Down: s.bytesDown.Load(), Duration: dur,
		})
	}
	if cfg.AccessLog != nil {
		cfg.AccessLog.LogConn(&observe.ConnEntry{
			Time: s.started, Listener: cfg.Listener, Route: s.route.Name, Proto: "udp",
			ClientIP: s.conn.Client.Addr().String(), Upstream: s.route.Backend.Upstream,
			Target: s.target.Addr, BytesUp: s.bytesUp.Load(), BytesDown: s.bytesDown.Load(),
			Duration: dur, Close: reason,
		})
	}
}

func pendingBytes(q [][]byte) int64 {
	var n int64
	for _, p := range q {
		n += int64(len(p))
	}
	return n
}
