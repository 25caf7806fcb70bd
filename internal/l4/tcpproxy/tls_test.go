package tcpproxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

func tlsDial(t *testing.T, addr, name string, rootCerts ...*x509.Certificate) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: ioTimeout}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots(rootCerts...)})
	if err != nil {
		t.Fatalf("TLS to %s as %s: %v", addr, name, err)
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// Terminate mode: TLS ends at the proxy, which routes on the negotiated
// server name and forwards plaintext; a close_notify half-closes.
func TestTerminateRoutesOnSNI(t *testing.T) {
	a, _ := backend(t, named("a"))
	b, _ := backend(t, func(c net.Conn) {
		io.WriteString(c, "b\n")
		n, _ := io.Copy(io.Discard, struct{ io.Reader }{c})
		io.WriteString(c, strings.Repeat("!", int(n)))
	})
	pa, _ := newPool(t, "round_robin", a)
	pb, _ := newPool(t, "round_robin", b)
	certA, leafA := selfSigned(t, "a.example.com")
	certB, leafB := selfSigned(t, "b.example.com")
	cfg := Config{Mode: Terminate, TLS: &tls.Config{Certificates: []tls.Certificate{certA, certB}}}
	e := start(t, cfg,
		route("ra", &l4.Backend{Pool: pa}, l4.Match{SNI: []string{"a.example.com"}}),
		route("rb", &l4.Backend{Pool: pb}, l4.Match{SNI: []string{"*.example.com"}}))
	ca := tlsDial(t, e.addr, "a.example.com", leafA)
	if g := greeting(t, ca); g != "a" {
		t.Fatalf("a.example.com went to %q", g)
	}
	roundTrip(t, ca, "plaintext behind TLS")
	cb := tlsDial(t, e.addr, "b.example.com", leafB)
	if g := greeting(t, cb); g != "b" {
		t.Fatalf("b.example.com went to %q", g)
	}
	io.WriteString(cb, "12345")
	if err := cb.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(cb)
	if err != nil || string(got) != "!!!!!" {
		t.Fatalf("answer after close_notify = %q, %v", got, err)
	}
	e.waitLine(t, map[string]any{"proto": "tls", "sni": "b.example.com", "route": "rb", "bytes_up": 5, "bytes_down": 7, "close": "client_closed"})
}

func TestTerminateHandshakeFailure(t *testing.T) {
	a, accepted := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	cert, _ := selfSigned(t, "a.example.com")
	e := start(t, Config{Mode: Terminate, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, HandshakeTimeout: time.Second},
		route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	io.ReadAll(c) // a TLS alert, then EOF
	e.waitLine(t, map[string]any{"close": "handshake"})
	if got := e.metric(t, "gatehouse_l4_connections_total", map[string]string{"result": "handshake"}); got != 1 {
		t.Fatalf("handshake failures = %v, want 1", got)
	}
	if accepted.Load() != 0 {
		t.Fatal("a failed handshake reached the backend")
	}
}

// Passthrough: SNI routes send each name to its own TLS backend, whose
// certificate the client sees.
func TestSNIPassthrough(t *testing.T) {
	needClientHello(t)
	certA, leafA := selfSigned(t, "a.example.com")
	certB, leafB := selfSigned(t, "b.example.com")
	pa, _ := newPool(t, "round_robin", tlsBackend(t, "a", certA))
	pb, _ := newPool(t, "round_robin", tlsBackend(t, "b", certB))
	e := start(t, Config{},
		route("ra", &l4.Backend{Pool: pa}, l4.Match{SNI: []string{"a.example.com"}}),
		route("rb", &l4.Backend{Pool: pb}, l4.Match{SNI: []string{"b.example.com"}}))
	for _, tc := range []struct {
		name string
		leaf *x509.Certificate
	}{{"a.example.com", leafA}, {"b.example.com", leafB}} {
		c := tlsDial(t, e.addr, tc.name, leafA, leafB)
		if got := c.ConnectionState().PeerCertificates[0].DNSNames[0]; got != tc.name {
			t.Fatalf("%s: client saw the certificate of %s", tc.name, got)
		}
		greeting(t, c)
		roundTrip(t, c, "through "+tc.name)
		c.Close()
	}
	e.waitLine(t, map[string]any{"sni": "a.example.com", "route": "ra", "proto": "tcp"})
	// A name no route matches is closed.
	d := &net.Dialer{Timeout: ioTimeout}
	if c, err := tls.DialWithDialer(d, "tcp", e.addr, &tls.Config{ServerName: "c.example.com", RootCAs: roots(leafA, leafB)}); err == nil {
		c.Close()
		t.Fatal("handshake for an unrouted name succeeded")
	}
	e.waitLine(t, map[string]any{"sni": "c.example.com", "close": "no_route"})
}

// A client that sends nothing (server-first protocol) is routed without
// SNI once PeekTimeout passes.
func TestPeekTimeoutRoutesSilentClient(t *testing.T) {
	needClientHello(t)
	a, _ := backend(t, named("banner"))
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{PeekTimeout: 100 * time.Millisecond},
		route("tls", &l4.Backend{Pool: p}, l4.Match{SNI: []string{"x.example.com"}}),
		route("default", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	if g := greeting(t, c); g != "banner" {
		t.Fatalf("greeting %q", g)
	}
	roundTrip(t, c, "EHLO")
}

// Mixed mode: a name an L4 route matches passes through raw; every other
// connection goes to the HTTPS server, with the peeked hello replayed.
func TestMixedHandsOtherNamesToHTTP(t *testing.T) {
	needClientHello(t)
	certPass, leafPass := selfSigned(t, "pass.example.com")
	certWeb, leafWeb := selfSigned(t, "web.example.com")
	p, _ := newPool(t, "round_robin", tlsBackend(t, "passed", certPass))
	e := start(t, Config{Mode: Mixed}, route("pass", &l4.Backend{Pool: p}, l4.Match{SNI: []string{"pass.example.com"}}))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "http for "+r.Host)
	})}
	go srv.Serve(tls.NewListener(e.s.HTTPListener(), &tls.Config{Certificates: []tls.Certificate{certWeb}}))
	t.Cleanup(func() { srv.Close() })

	c := tlsDial(t, e.addr, "pass.example.com", leafPass, leafWeb)
	if got := c.ConnectionState().PeerCertificates[0].DNSNames[0]; got != "pass.example.com" {
		t.Fatalf("passthrough served the certificate of %s", got)
	}
	if g := greeting(t, c); g != "passed" {
		t.Fatalf("passthrough greeting %q", g)
	}
	hc := &http.Client{Timeout: ioTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots(leafWeb)},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", e.addr)
		},
	}}
	res, err := hc.Get("https://web.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "http for web.example.com" {
		t.Fatalf("HTTPS body %q", body)
	}
}

// Backend.ProxyProtocol sends the header before any client byte.
func TestSendProxyProtocol(t *testing.T) {
	needProxyProto(t)
	headers := make(chan []byte, 1)
	var want []byte
	ready := make(chan struct{})
	a, _ := backend(t, func(c net.Conn) {
		<-ready
		h := make([]byte, len(want))
		io.ReadFull(c, h)
		headers <- h
		echo(c)
	})
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p, ProxyProtocol: 2}, l4.Match{}))
	c := e.dial(t)
	var err error
	want, err = proxyproto.Header(2, c.LocalAddr().(*net.TCPAddr).AddrPort(), netip.MustParseAddrPort(e.addr), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	roundTrip(t, c, "after the header")
	if h := <-headers; string(h) != string(want) {
		t.Fatalf("header %q, want %q", h, want)
	}
}

// A trusted peer's PROXY header gives the client address routes match and
// the log shows; bytes after it in the same segment are forwarded.
func TestAcceptProxyProtocol(t *testing.T) {
	needProxyProto(t)
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	accept := &proxyproto.AcceptConfig{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	e := start(t, Config{Accept: accept}, route("r", &l4.Backend{Pool: p}, l4.Match{ClientIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}))
	c := e.dial(t)
	io.WriteString(c, "PROXY TCP4 10.1.2.3 127.0.0.1 5555 80\r\nping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo %q, %v", got, err)
	}
	c.Close()
	e.waitLine(t, map[string]any{"client_ip": "10.1.2.3", "route": "r", "bytes_up": 4})
}
