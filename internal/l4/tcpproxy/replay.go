package tcpproxy

import "net"

// prefixConn is a connection whose first reads return bytes already read
// from it (a peeked ClientHello, the rest of a PROXY header), and whose
// addresses may be the ones a PROXY header gave. It hides the socket from
// io.Copy, so it is used only where splice is out of the question anyway:
// the HTTPS hand-over and under crypto/tls.
type prefixConn struct {
	net.Conn
	prefix        []byte
	remote, local net.Addr // nil = the socket's own
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *prefixConn) RemoteAddr() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

func (c *prefixConn) LocalAddr() net.Addr {
	if c.local != nil {
		return c.local
	}
	return c.Conn.LocalAddr()
}

// CloseWrite shuts the socket's write half (half-close under crypto/tls).
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// NetConn is the socket underneath.
func (c *prefixConn) NetConn() net.Conn { return c.Conn }
