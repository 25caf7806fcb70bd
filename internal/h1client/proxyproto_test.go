package h1client

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	pp "github.com/pires/go-proxyproto"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// proxyBackend is a server behind the library's PROXY listener, which
// requires a header on every connection; it answers with the RemoteAddr
// the header gave (the socket's own for LOCAL / UNKNOWN) and the header
// version.
func proxyBackend(t *testing.T) *countingServer {
	t.Helper()
	s := &countingServer{Server: httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	}))}
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Listener = &pp.Listener{
		Listener:          s.Listener,
		ConnPolicy:        func(pp.ConnPolicyOptions) (pp.Policy, error) { return pp.REQUIRE, nil },
		ReadHeaderTimeout: waitTimeout,
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// clientReq is a GET to url from the client the listener resolved
// (clientIP, "" = outside a Gatehouse listener) over a connection from
// remote.
func clientReq(t *testing.T, url, clientIP, remote string) *http.Request {
	t.Helper()
	ctx := context.Background()
	if clientIP != "" {
		ctx = reqinfo.NewContext(ctx, &reqinfo.Info{ClientIP: netip.MustParseAddr(clientIP)})
	}
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.RemoteAddr = remote
	return req
}

func TestProxyProtocolHeaderPerClient(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprint("v", version), func(t *testing.T) {
			s := proxyBackend(t)
			tr := newTestTransport(t, Config{ProxyProtocol: version})
			steps := []struct {
				clientIP, remote string
				want             string
				conns            int64
			}{
				{"203.0.113.9", "203.0.113.9:4321", "203.0.113.9:4321", 1},
				{"203.0.113.9", "203.0.113.9:4321", "203.0.113.9:4321", 1}, // reused: same client
				{"198.51.100.7", "198.51.100.7:5555", "198.51.100.7:5555", 2},
				{"203.0.113.9", "203.0.113.9:4321", "203.0.113.9:4321", 2}, // its own connection again
				// Behind a trusted HTTP proxy: the client's port is unknown.
				{"192.0.2.1", "10.0.0.1:999", "192.0.2.1:0", 3},
				{"2001:db8::5", "[2001:db8::5]:80", "[2001:db8::5]:80", 4},
			}
			for i, st := range steps {
				_, body := do(t, tr, clientReq(t, s.URL, st.clientIP, st.remote))
				if body != st.want || s.conns.Load() != st.conns {
					t.Fatalf("step %d: backend saw %q over %d connections, want %q over %d", i, body, s.conns.Load(), st.want, st.conns)
				}
			}
		})
	}
}

// Without a known client the header is LOCAL (v2) / UNKNOWN (v1): the
// backend keeps the socket's address.
func TestProxyProtocolUnknownClient(t *testing.T) {
	for _, version := range []int{1, 2} {
		s := proxyBackend(t)
		tr := newTestTransport(t, Config{ProxyProtocol: version})
		_, body := do(t, tr, clientReq(t, s.URL, "", ""))
		if ap, err := netip.ParseAddrPort(body); err != nil || !ap.Addr().IsLoopback() {
			t.Fatalf("v%d: backend saw %q", version, body)
		}
	}
}

// Client pools do not accumulate: the idle sweep drops emptied ones, and
// CloseIdleFor drains a target's.
func TestProxyProtocolClientPoolsReleased(t *testing.T) {
	s := proxyBackend(t)
	tr := newTestTransport(t, Config{ProxyProtocol: 1})
	do(t, tr, clientReq(t, s.URL, "203.0.113.9", "203.0.113.9:1"))
	do(t, tr, clientReq(t, s.URL, "203.0.113.10", "203.0.113.10:1"))
	if n := clientPoolCount(tr); n != 2 {
		t.Fatalf("%d client pools, want 2", n)
	}
	tr.CloseIdleFor(s.Listener.Addr().String())
	if n := clientPoolCount(tr); n != 0 {
		t.Fatalf("CloseIdleFor left %d client pools", n)
	}

	short := newTestTransport(t, Config{ProxyProtocol: 2, IdleTimeout: 50 * time.Millisecond})
	do(t, short, clientReq(t, s.URL, "203.0.113.9", "203.0.113.9:1"))
	deadline := time.Now().Add(waitTimeout)
	for clientPoolCount(short) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle sweep left a client pool behind")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func clientPoolCount(tr *Transport) int {
	tr.clientMu.Lock()
	defer tr.clientMu.Unlock()
	return len(tr.clientPools)
}
