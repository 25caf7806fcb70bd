package proxyproto

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

var (
	loopback  = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	elsewhere = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
)

// peerConn is one end of a net.Pipe that claims a TCP peer address, so
// trust decisions apply; net.Pipe's synchronous writes make "the header
// arrives in two pieces" deterministic.
type peerConn struct {
	net.Conn
	peer net.Addr
}

func (c peerConn) RemoteAddr() net.Addr { return c.peer }

// pipeFrom returns the server end (peer = 127.0.0.1:40000) and the client
// end of a pipe.
func pipeFrom(t *testing.T) (server net.Conn, client net.Conn) {
	t.Helper()
	s, c := net.Pipe()
	t.Cleanup(func() { s.Close(); c.Close() })
	return peerConn{Conn: s, peer: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}}, c
}

// send writes parts to c one after another in the background.
func send(c net.Conn, parts ...string) {
	go func() {
		for _, p := range parts {
			if _, err := c.Write([]byte(p)); err != nil {
				return
			}
		}
	}()
}

type readResult struct {
	res Result
	err error
}

// readBounded runs a.Read(c) and fails the test if it has not returned
// within limit (a hang, never expected).
func readBounded(t *testing.T, a *AcceptConfig, c net.Conn, limit time.Duration) (Result, error) {
	t.Helper()
	ch := make(chan readResult, 1)
	go func() { r, err := a.Read(c); ch <- readResult{r, err} }()
	select {
	case r := <-ch:
		return r.res, r.err
	case <-time.After(limit):
		t.Fatalf("Read did not return within %v", limit)
		return Result{}, nil
	}
}

// collect returns rest followed by what c delivers until n bytes in all.
func collect(t *testing.T, rest []byte, c net.Conn, n int) string {
	t.Helper()
	buf := append([]byte(nil), rest...)
	if len(buf) < n {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		more := make([]byte, n-len(buf))
		if _, err := io.ReadFull(c, more); err != nil {
			t.Fatalf("reading after the header: %v", err)
		}
		buf = append(buf, more...)
	}
	return string(buf)
}

// tcpPair returns an accepted server conn and its client over loopback.
func tcpPair(t *testing.T, ln net.Listener) (server, client net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
