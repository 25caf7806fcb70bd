//go:build unix

package h1client

import (
	"net"
	"syscall"
)

// probeConn holds what the readability probe of one connection needs,
// prepared once per connection so the probe itself allocates nothing.
type probeConn struct {
	rc     syscall.RawConn // nil when the conn is not a socket (tests)
	fn     func(fd uintptr) bool
	result int
	buf    [1]byte
}

func (p *probeConn) init(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.rc = rc
	p.fn = p.read
}

// read is the RawConn callback: the descriptor is non-blocking (Go's
// poller sets O_NONBLOCK), so read(2) answers at once. It returns true
// whatever happened, so RawConn.Read never waits for readability.
func (p *probeConn) read(fd uintptr) bool {
	n, err := readNonBlocking(fd, p.buf[:])
	switch {
	case n < 0 && (err == syscall.EAGAIN || err == syscall.EWOULDBLOCK || err == syscall.EINTR):
		p.result = probeIdle
	default: // n == 0: EOF; n > 0: bytes nobody asked for; other errors
		p.result = probeDead
	}
	return true
}

// alive reports whether an idle connection may be reused: the origin has
// neither closed it nor sent anything on it. A read that consumed a byte
// leaves the connection unusable, which is fine: it is discarded.
func (p *probeConn) alive() bool {
	if p.rc == nil {
		return true
	}
	p.result = probeUnknown
	if err := p.rc.Read(p.fn); err != nil {
		return false // closed locally, or a deadline in the past: not reusable
	}
	return p.result == probeIdle
}
