package tcpproxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("tcpproxy: server closed")

// Server forwards the connections of one listener.
type Server struct {
	cfg    Config
	routes atomic.Pointer[l4.Table]
	http   *httpListener
	ctx    context.Context // canceled by Close: aborts connects
	cancel context.CancelFunc

	closing atomic.Bool  // Shutdown or Close was called
	open    atomic.Int64 // connections counted against MaxConns

	mu    sync.Mutex
	lns   map[net.Listener]struct{}
	conns map[*conn]struct{} // every connection until it ends
	setup int                // of conns, those not yet forwarding

	// onCopy, set by tests, sees the two ends the copy is given.
	onCopy func(client, upstream net.Conn)
	// resumes counts copies resumed after a watchdog poke (tests read it).
	resumes atomic.Int64
	// spliced counts directions that moved from read/write to splice
	// (tests read it).
	spliced atomic.Int64
}

// New returns a server for cfg routing by routes (nil = no routes).
func New(cfg Config, routes *l4.Table) *Server {
	if cfg.Tracker == nil {
		cfg.Tracker = l4.NewTracker()
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.PeekTimeout <= 0 {
		cfg.PeekTimeout = DefaultPeekTimeout
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	s := &Server{cfg: cfg, lns: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.http = newHTTPListener(s.ctx)
	s.SetRoutes(routes)
	return s
}

// SetRoutes replaces the route table (a reload). Connections already
// routed keep their route and target.
func (s *Server) SetRoutes(t *l4.Table) {
	if t == nil {
		t = l4.NewTable(nil)
	}
	s.routes.Store(t)
}

// Serve accepts connections from ln until ln fails or the server is shut
// down, and forwards each in its own goroutine. It returns ErrServerClosed
// after Shutdown or Close. ln may be a listener.Socket's Listener.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	s.mu.Unlock()
	s.http.setAddr(ln.Addr())
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.cfg.Log.Warn("l4 accept failed", "listener", s.cfg.Listener, "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if n := s.open.Add(1); s.cfg.MaxConns > 0 && n > int64(s.cfg.MaxConns) {
			s.open.Add(-1)
			s.refuse(c)
			continue
		}
		go s.handle(c)
	}
}

// refuse closes c, which came over the MaxConns cap, and records it.
func (s *Server) refuse(c net.Conn) {
	now := time.Now()
	c.Close()
	rc := &conn{s: s, start: now, reason: reasonLimited}
	rc.info.Client = addrPort(c.RemoteAddr())
	rc.record()
}

// handle forwards one accepted connection.
func (s *Server) handle(raw net.Conn) {
	c := newConn(s, raw)
	if !s.add(c) {
		raw.Close()
		s.open.Add(-1)
		return
	}
	handedOver := c.serve()
	s.remove(c)
	s.open.Add(-1)
	if !handedOver {
		c.record()
	}
}

// add registers c; false once Close has run.
func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return false
	}
	s.conns[c] = struct{}{}
	s.setup++
	return true
}

// forwarding notes that c left its setup (it is now tracked by the
// Tracker, or ended).
func (s *Server) forwarding(c *conn) {
	s.mu.Lock()
	if c.inSetup {
		c.inSetup = false
		s.setup--
	}
	s.mu.Unlock()
}

func (s *Server) remove(c *conn) {
	s.forwarding(c)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// HTTPListener yields, in Mixed mode, the connections no route passed
// through, with the bytes already read replayed; serve HTTPS on it
// (tls.NewListener). Its RemoteAddr is the PROXY header's source when one
// was accepted. In other modes it yields nothing. It closes with the
// server.
func (s *Server) HTTPListener() net.Listener { return s.http }

// Shutdown stops accepting and waits until the connections still being
// routed are forwarding or ended (each step is bounded by its timeout), or
// ctx ends, when it closes them. Forwarded connections are left open: they
// end on their own or through Tracker.Shutdown, which the owner of the
// Tracker calls with its grace period.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopAccepting()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		n := s.setup
		s.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.closeConns(true)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.stopAccepting()
	s.mu.Lock()
	s.cancel()
	s.mu.Unlock()
	s.closeConns(false)
	return nil
}

func (s *Server) stopAccepting() {
	s.mu.Lock()
	s.closing.Store(true)
	lns := make([]net.Listener, 0, len(s.lns))
	for ln := range s.lns {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	for _, ln := range lns {
		ln.Close()
	}
	s.http.Close()
}

// closeConns closes the connections of the server (only those still in
// setup when setupOnly).
func (s *Server) closeConns(setupOnly bool) {
	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		if !setupOnly || c.inSetup {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.abort(reasonShutdown)
	}
}

// record sends one ended connection to the metrics and the access log.
func (s *Server) record(e *observe.ConnEntry, rec *observe.ConnRecord) {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Ended(rec)
	}
	if s.cfg.AccessLog != nil {
		s.cfg.AccessLog.LogConn(e)
	}
}
