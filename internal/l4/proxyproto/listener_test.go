package proxyproto

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	pp "github.com/pires/go-proxyproto"
)

// acceptBounded accepts from ln or fails the test after limit.
func acceptBounded(t *testing.T, ln net.Listener, limit time.Duration) net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		ch <- c
	}()
	select {
	case c := <-ch:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(limit):
		t.Fatalf("Accept did not return within %v", limit)
		return nil
	}
}

func dial(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Accept hands out connections without reading: a silent peer (whose
// header read would take the full minute of Timeout) does not hold up the
// next one, whose RemoteAddr is its header's source.
func TestListenerLazyHeader(t *testing.T) {
	ln := Listener(listen(t), AcceptConfig{Trusted: loopback, Timeout: time.Minute})
	dial(t, ln) // silent
	acceptBounded(t, ln, 10*time.Second)
	c := dial(t, ln)
	c.Write([]byte(mustHeader(t, 2, "203.0.113.9:1234", "198.51.100.1:443", "", nil) + "ping"))
	s := acceptBounded(t, ln, 10*time.Second)
	if got := s.RemoteAddr().String(); got != "203.0.113.9:1234" {
		t.Fatalf("RemoteAddr = %s", got)
	}
	if got := s.LocalAddr().String(); got != "198.51.100.1:443" {
		t.Fatalf("LocalAddr = %s", got)
	}
	if got := collect(t, nil, s, 4); got != "ping" {
		t.Fatalf("got %q", got)
	}
}

// A refused connection is closed: its Read fails and the client sees EOF.
func TestListenerRefusedClosed(t *testing.T) {
	ln := Listener(listen(t), AcceptConfig{Trusted: elsewhere})
	c := dial(t, ln)
	c.Write([]byte(mustHeader(t, 1, "203.0.113.9:1234", "198.51.100.1:443", "", nil) + "GET / HTTP/1.1\r\n\r\n"))
	s := acceptBounded(t, ln, 10*time.Second)
	if _, err := s.Read(make([]byte, 10)); !errors.Is(err, ErrRefused) {
		t.Fatalf("Read err = %v", err)
	}
	if s.RemoteAddr().String() == "203.0.113.9:1234" {
		t.Fatal("refused header believed")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("client connection still open")
	}
}

// A read deadline the server set before the header was read survives it.
func TestListenerKeepsServerDeadline(t *testing.T) {
	ln := Listener(listen(t), AcceptConfig{Trusted: loopback})
	c := dial(t, ln)
	c.Write([]byte("PROXY TCP4 203.0.113.9 198.51.100.1 1234 443\r\na"))
	s := acceptBounded(t, ln, 10*time.Second)
	s.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	b := make([]byte, 1)
	if n, err := s.Read(b); n != 1 || b[0] != 'a' {
		t.Fatalf("first read: %q %v", b[:n], err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Read(make([]byte, 1)); done <- err }()
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v, want a timeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server's read deadline was lost")
	}
}

// DialContext writes the header first; a receiver using the library sees
// the client and the dialled address.
func TestDialContext(t *testing.T) {
	ln := listen(t)
	got := make(chan *pp.Header, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h, err := pp.Read(bufio.NewReader(c))
		if err != nil {
			t.Error(err)
		}
		got <- h
	}()
	client := netip.MustParseAddrPort("203.0.113.9:1234")
	var d net.Dialer
	dc := DialContext(d.DialContext, 2, func(context.Context) netip.AddrPort { return client })
	c, err := dc(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case h := <-got:
		s, dst, ok := h.TCPAddrs()
		if !ok || s.AddrPort() != client || dst.String() != ln.Addr().String() {
			t.Fatalf("header %+v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no header")
	}
	// A failing base dialer's error is returned as is.
	boom := errors.New("boom")
	_, err = DialContext(func(context.Context, string, string) (net.Conn, error) { return nil, boom }, 1, nil)(context.Background(), "tcp", "x:1")
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var _ io.Reader = c
}
