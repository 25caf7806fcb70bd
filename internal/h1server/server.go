// Package h1server is a synchronous HTTP/1.1 server for http.Handlers.
//
// Each connection is served by one goroutine that reads a request with a
// bufio.Reader, calls the handler, writes the response through one
// bufio.Writer and flushes it once, then reads the next request. There is
// no background read goroutine, no per-connection context tree and no
// layered response buffering, which is where net/http's server spends its
// time on small keep-alive requests (extra read syscalls, park/wake-ups,
// timers and allocations).
//
// Trade-offs against net/http, deliberate:
//   - Client disconnects are noticed when a write fails, when Server.Close
//     closes the connection, or — for a request without a body whose
//     handler runs longer than watchDelay (100ms) — by a read that watches
//     the connection from then on (see watch.go); the request context is
//     canceled then, and always when the handler returns. A handler of a
//     request with a body learns of a disconnect from its body reads.
//   - Content-Type is never sniffed: handlers set it or the response has
//     none.
//   - HTTP/1.x only: no h2, h2c or HTTP/2 upgrade. A TLS listener must not
//     offer "h2" via ALPN.
//   - http.ServerContextKey has no value in request contexts (there is no
//     *http.Server); http.LocalAddrContextKey does.
//   - Obsolete line folding, Transfer-Encoding in HTTP/1.0 requests, and
//     both Content-Length and Transfer-Encoding are refused with 400 where
//     net/http tolerates them.
//   - Pipelined requests are answered in order; once the server shuts
//     down, requests pipelined behind the one being answered are not.
package h1server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds the server's settings. Zero values mean no limit, except
// MaxHeaderBytes (http.DefaultMaxHeaderBytes) and ErrorLog (slog.Default).
type Config struct {
	// ReadHeaderTimeout bounds reading a request head, from its first
	// byte (from accept for a connection's first request).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing the response, from the end of the
	// request head.
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection; ReadTimeout is used when it is zero, as in net/http.
	IdleTimeout time.Duration
	// MaxHeaderBytes limits the request head (request line and fields);
	// like net/http, 4096 bytes of slack are added. Beyond it: 431.
	MaxHeaderBytes int
	ErrorLog       *slog.Logger
	// ConnState is called on the same transitions as net/http's.
	ConnState func(net.Conn, http.ConnState)
}

// Connection states (conn.state).
const (
	stateNew int32 = iota
	stateActive
	stateIdle
	stateClosed
	stateHijacked
)

// Server serves HTTP/1.1 on any number of listeners.
type Server struct {
	h           http.Handler
	cfg         Config
	log         *slog.Logger
	maxHead     int
	idleTimeout time.Duration

	noKeepAlives atomic.Bool
	shutdown     atomic.Bool // Shutdown or Close began

	mu        sync.Mutex
	closed    bool // Close called: refuse new connections
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
}

// New returns a server for h.
func New(h http.Handler, c Config) *Server {
	s := &Server{
		h:         h,
		cfg:       c,
		log:       c.ErrorLog,
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	mh := c.MaxHeaderBytes
	if mh <= 0 {
		mh = http.DefaultMaxHeaderBytes
	}
	s.maxHead = mh + 4096
	s.idleTimeout = c.IdleTimeout
	if s.idleTimeout == 0 {
		s.idleTimeout = c.ReadTimeout
	}
	return s
}

func (s *Server) keepAlives() bool { return !s.noKeepAlives.Load() && !s.shutdown.Load() }

// logf logs the handler mistakes net/http reports on its ErrorLog
// (superfluous WriteHeader and the like), at debug level.
func (s *Server) logf(format string, args ...any) {
	if s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (s *Server) hook(nc net.Conn, st http.ConnState) {
	if f := s.cfg.ConnState; f != nil {
		f(nc, st)
	}
}

// Serve accepts connections on ln and serves each in its own goroutine.
// It returns http.ErrServerClosed after Shutdown or Close, otherwise the
// accept error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return http.ErrServerClosed
			}
			if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
				// EMFILE and friends: back off as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Error("h1server: accept error; retrying", "error", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			return http.ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.hook(nc, http.StateNew)
		go c.serve()
	}
}

// untrack forgets c and reports its final state.
func (s *Server) untrack(c *conn, st http.ConnState) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.hook(c.nc, st)
}

func (s *Server) closeListenersLocked() error {
	var err error
	for ln := range s.listeners {
		if cerr := ln.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// Shutdown stops accepting, closes idle connections and waits for the
// others to finish, or for ctx to end (then it returns ctx.Err() and
// leaves the rest to Close, as net/http does).
//
// Unlike net/http, a request read after Shutdown began is always answered
// (with Connection: close): a new connection is not closed while its first
// request may be on the way, unless it stayed silent for 5 seconds, and an
// idle connection is closed only if it has not started reading a request
// (the state change is a compare-and-swap both sides respect).
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdown.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	s.mu.Unlock()
	interval := time.Millisecond
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		if s.closeIdle() {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			interval = min(2*interval, 50*time.Millisecond)
			t.Reset(interval)
		}
	}
}

// closeIdle closes idle (and long-silent new) connections and reports
// whether none is left.
func (s *Server) closeIdle() bool {
	old := time.Now().Add(-5 * time.Second).UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		switch c.state.Load() {
		case stateIdle:
			if c.state.CompareAndSwap(stateIdle, stateClosed) {
				c.nc.Close()
			}
		case stateNew:
			if c.created < old && c.state.CompareAndSwap(stateNew, stateClosed) {
				c.nc.Close()
			}
		}
	}
	return len(s.conns) == 0
}

// Close closes the listeners and every connection now, canceling the
// requests in flight. Hijacked connections are the handlers'.
func (s *Server) Close() error {
	s.shutdown.Store(true)
	s.mu.Lock()
	s.closed = true
	err := s.closeListenersLocked()
	var inflight []*reqCtx
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.nc.Close()
		if x := c.cur.Load(); x != nil {
			inflight = append(inflight, x)
		}
	}
	s.mu.Unlock()
	for _, x := range inflight {
		x.cancel(context.Canceled)
	}
	return err
}

// SetKeepAlivesEnabled controls HTTP keep-alives (on by default). Turning
// them off closes idle connections and makes busy ones close after their
// response.
func (s *Server) SetKeepAlivesEnabled(v bool) {
	s.noKeepAlives.Store(!v)
	if !v {
		s.mu.Lock()
		for c := range s.conns {
			if c.state.CompareAndSwap(stateIdle, stateClosed) {
				c.nc.Close()
			}
		}
		s.mu.Unlock()
	}
}

var errNotH1 = errors.New("h1server: TLS negotiated a protocol other than HTTP/1.1")
