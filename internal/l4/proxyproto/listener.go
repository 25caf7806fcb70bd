package proxyproto

import (
	"io"
	"net"
	"sync"
	"time"
)

// Listener wraps ln for HTTP listeners: every accepted connection's header
// is read (per a) before it is handed out, its RemoteAddr/LocalAddr become
// the header's, and refused connections are closed, never returned.
// Reading happens in the connection's own first Read, not in Accept, so a
// slow peer never blocks the accept loop.
//
// Precisely: Accept returns at once; the header is read by the first call
// of Read, RemoteAddr or LocalAddr (servers call RemoteAddr first, in the
// connection's goroutine). A refused connection is closed there and its
// Read returns the error, so the server drops it without an answer.
// Read deadlines the server sets before that are kept and re-applied.
func Listener(ln net.Listener, a AcceptConfig) net.Listener {
	return &listener{Listener: ln, a: a}
}

type listener struct {
	net.Listener
	a AcceptConfig
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, a: &l.a}, nil
}

// conn is an accepted connection whose header is read on first use.
type conn struct {
	net.Conn
	a    *AcceptConfig
	once sync.Once
	res  Result
	err  error

	mu      sync.Mutex
	reading bool      // the header read owns the read deadline
	rdl     time.Time // read deadline the server asked for
	rest    []byte    // Result.Rest not yet returned by Read
}

func (c *conn) init() {
	c.once.Do(func() {
		c.mu.Lock()
		c.reading = true
		restore := c.rdl
		c.mu.Unlock()
		c.res, c.err = c.a.read(c.Conn, restore)
		c.mu.Lock()
		c.reading = false
		if !c.rdl.Equal(restore) { // set while the header was read
			c.Conn.SetReadDeadline(c.rdl)
		}
		c.rest = c.res.Rest
		c.mu.Unlock()
		if c.err != nil {
			c.Conn.Close()
		}
	})
}

func (c *conn) Read(p []byte) (int, error) {
	c.init()
	if c.err != nil {
		return 0, c.err
	}
	c.mu.Lock()
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// RemoteAddr is the header's source, else the socket's peer.
func (c *conn) RemoteAddr() net.Addr {
	c.init()
	if c.res.Source.IsValid() {
		return net.TCPAddrFromAddrPort(c.res.Source)
	}
	return c.Conn.RemoteAddr()
}

// LocalAddr is the header's destination, else the socket's own.
func (c *conn) LocalAddr() net.Addr {
	c.init()
	if c.res.Destination.IsValid() {
		return net.TCPAddrFromAddrPort(c.res.Destination)
	}
	return c.Conn.LocalAddr()
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rdl = t
	if c.reading {
		return nil // applied when the header read ends
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// CloseWrite half-closes when the socket can (graceful close in servers).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// ReadFrom keeps the socket's own ReadFrom (sendfile) for response bodies.
func (c *conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }
