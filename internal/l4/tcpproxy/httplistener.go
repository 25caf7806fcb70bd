package tcpproxy

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// httpListener is the net.Listener through which Mixed mode hands the
// connections it does not pass through to the HTTPS server. Hand-over is
// unbuffered: a connection waits in its own goroutine until the server
// accepts it (still counted against MaxConns until then).
type httpListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	srv    context.Context // the server's; done on Close
	addr   atomic.Pointer[net.Addr]
}

func newHTTPListener(srv context.Context) *httpListener {
	return &httpListener{conns: make(chan net.Conn), closed: make(chan struct{}), srv: srv}
}

func (l *httpListener) setAddr(a net.Addr) { l.addr.CompareAndSwap(nil, &a) }

// deliver hands c to Accept; false (c not taken) once the listener closed.
func (l *httpListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.closed:
		return false
	case <-l.srv.Done():
		return false
	}
}

func (l *httpListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *httpListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr is the address of the first listener the server serves, or the
// unspecified TCP address before Serve.
func (l *httpListener) Addr() net.Addr {
	if a := l.addr.Load(); a != nil {
		return *a
	}
	return &net.TCPAddr{}
}
