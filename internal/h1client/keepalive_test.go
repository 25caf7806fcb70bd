package h1client

import (
	"bufio"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeepAliveLimit(t *testing.T) {
	for _, tc := range []struct {
		vv   []string
		want time.Duration
	}{
		{nil, 0},
		{[]string{"timeout=5"}, 4 * time.Second},
		{[]string{"max=100, Timeout = 5"}, 4 * time.Second},
		{[]string{"max=100", "timeout=20"}, 19 * time.Second},
		{[]string{"timeout=1"}, 500 * time.Millisecond},
		{[]string{"timeout=2"}, time.Second},
		{[]string{"timeout=0"}, -1},
		{[]string{"timeout=-3"}, 0},
		{[]string{"timeout=abc"}, 0},
		{[]string{"timeout=99999999999999999999"}, 0},
		{[]string{"max=5"}, 0},
	} {
		if got := keepAliveLimit(tc.vv); got != tc.want {
			t.Errorf("keepAliveLimit(%q) = %v, want %v", tc.vv, got, tc.want)
		}
	}
}

// TestAdvertisedKeepAliveTimeoutExpiresConnection: a connection idle for
// nearly the origin's advertised timeout is not reused (it would race
// with the origin's close) and is not counted as stale.
func TestAdvertisedKeepAliveTimeoutExpiresConnection(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	var stale atomic.Int64
	tr := newTestTransport(t, Config{OnStaleConn: func() { stale.Add(1) }})
	get(t, tr, s.URL())
	get(t, tr, s.URL()) // within the limit: reused
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	for _, hp := range *tr.pools.Load() {
		hp.mu.Lock()
		c := hp.idle[len(hp.idle)-1]
		if c.idleLimit != 4*time.Second {
			t.Errorf("idle limit %v, want 4s", c.idleLimit)
		}
		c.idleAt = c.idleAt.Add(-4 * time.Second) // as if idle for 4 s
		hp.mu.Unlock()
	}
	get(t, tr, s.URL())
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: the connection was reused at the origin's timeout", n)
	}
	if n := stale.Load(); n != 0 {
		t.Fatalf("%d stale connections counted for an expiry", n)
	}
}

func TestAdvertisedZeroTimeoutNotPooled(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nKeep-Alive: timeout=0\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr := newTestTransport(t, Config{})
	get(t, tr, s.URL())
	if n := idleCount(tr); n != 0 {
		t.Fatalf("%d idle connections, want 0", n)
	}
}
