package listener

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Socket is a bound listening socket that outlives the servers using it.
// One goroutine accepts and hands each connection to the current server;
// a reload that replaces a server on the same address switches the
// hand-off target, so no connection ever sits in the queue of a socket
// that is about to close (the failure of binding a second socket with
// SO_REUSEPORT: the old one's queued connections are reset on close).
type Socket struct {
	ln   net.Listener
	mu   sync.Mutex
	cur  *handoff
	done chan struct{}
}

// Bind listens on address.
func Bind(ctx context.Context, address string) (*Socket, error) {
	// No TCP keep-alive on accepted connections: it costs four setsockopt
	// calls per connection, and every listener bounds idle clients with
	// its own timeout (HTTP keep-alive idle, L4 idle), which is what
	// NGINX and HAProxy rely on too (their so_keepalive / clitcpka are
	// off by default).
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(ctx, "tcp", address)
	if err != nil {
		return nil, err
	}
	s := &Socket{ln: ln, done: make(chan struct{})}
	go s.acceptLoop()
	return s, nil
}

// Addr is the bound address.
func (s *Socket) Addr() net.Addr { return s.ln.Addr() }

// Listener returns a net.Listener that receives the socket's connections
// from now on; the previous one receives no more. Closing it does not
// close the socket.
func (s *Socket) Listener() net.Listener {
	h := &handoff{sock: s, conns: make(chan net.Conn), closed: make(chan struct{})}
	s.mu.Lock()
	s.cur = h
	s.mu.Unlock()
	return h
}

// Close closes the socket; connections not yet handed over are closed.
func (s *Socket) Close() error {
	err := s.ln.Close()
	<-s.done
	return err
}

func (s *Socket) current() *handoff {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *Socket) acceptLoop() {
	defer close(s.done)
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.deliver(c)
	}
}

// deliver hands c to the current listener, retrying with the next one if
// the current closes meanwhile; with none left, c is closed.
func (s *Socket) deliver(c net.Conn) {
	for {
		h := s.current()
		if h == nil {
			c.Close()
			return
		}
		select {
		case h.conns <- c:
			return
		case <-h.closed:
			s.mu.Lock()
			if s.cur == h {
				s.cur = nil
			}
			s.mu.Unlock()
		}
	}
}

// handoff is the net.Listener one server sees.
type handoff struct {
	sock   *Socket
	conns  chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.conns:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	case <-h.sock.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.closed) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.sock.Addr() }
