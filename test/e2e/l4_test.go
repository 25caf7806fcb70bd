package e2e

// Layer 4 forwarding, black box: tcp, tls and udp listeners; SNI, ALPN,
// client IP and destination port routing; SNI passthrough and an https
// listener mixing passthrough and termination; PROXY protocol sent (TCP
// and HTTP upstreams), accepted (tcp and http listeners, required) and
// refused; two tiers keeping the client address; health and connect
// retry; draining on reload; idle timeout; listener connection limit;
// hash affinity; UDP sessions; a 1 GiB transfer in flat memory;
// validation errors and the L4 example. Backends are in
// l4backends_test.go.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// TestL4TCPRoundRobin: 30 sequential connections through a tcp listener
// reach three echo backends 10 times each (round robin per connection),
// every byte comes back, and each connection is counted once in
// gatehouse_l4_connections_total and logged once in the access log.
func TestL4TCPRoundRobin(t *testing.T) {
	t.Parallel()
	bs := []*tcpBackend{newEchoBackend(t, "a"), newEchoBackend(t, "b"), newEchoBackend(t, "c")}
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: tcp-in, address: %s, protocol: tcp}
l4_routes:
  - {name: all, listeners: [tcp-in], upstream: echo}
upstreams:
  - name: echo
    balance: round_robin
    targets: [{url: "tcp://%s"}, {url: "tcp://%s"}, {url: "tcp://%s"}]
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))

	counts := map[string]int{}
	for i := range 30 {
		msg := "ping-" + strconv.Itoa(i)
		reply, err := echoOnce(addr, msg)
		if err != nil {
			t.Fatalf("connection %d through the tcp listener: %v", i, err)
		}
		name, rest, _ := strings.Cut(reply, ":")
		if rest != msg {
			t.Fatalf("connection %d: reply %q, want NAME:%s", i, reply, msg)
		}
		counts[name]++
	}
	for _, b := range bs {
		if counts[b.name] != 10 {
			t.Errorf("backend %s got %d of 30 connections, want 10 (round robin); all: %v", b.name, counts[b.name], counts)
		}
	}
	for _, b := range bs {
		series := fmt.Sprintf(`gatehouse_l4_connections_total{listener="tcp-in",result="ok",route="all",target=%q,upstream="echo"}`, b.addr)
		m := g.waitMetric(series, 10, 10*time.Second)
		if v, _ := metricValue(m, series); v != 10 {
			t.Errorf("%s = %v, want 10; L4 metrics:\n%s", series, v, grepLines(m, "gatehouse_l4_connections_total"))
		}
	}
	lines := func() int { return strings.Count(g.accessLog(), `"msg":"connection"`) }
	waitFor(10*time.Second, func() bool { return lines() >= 30 })
	if n := lines(); n != 30 {
		t.Errorf("access log has %d connection lines, want 30 (one per connection):\n%s", n, tail(g.accessLog(), 2000))
	}
}

// tlsDial opens a TLS connection to addr with SNI serverName, verified
// against pool (InsecureSkipVerify when pool is nil), and returns it with
// the leaf certificate's common name.
func tlsDial(addr, serverName string, pool *testPKI) (*tls.Conn, string, error) {
	cfg := &tls.Config{ServerName: serverName}
	if pool != nil {
		cfg.RootCAs = pool.pool
	} else {
		cfg.InsecureSkipVerify = true
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, "", err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, c.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
}

// TestL4SNIPassthrough: a tcp listener routes TLS connections by the
// ClientHello's SNI without terminating them, so each client sees the
// backend's own certificate: exact names, a wildcard (one or more labels,
// not the bare suffix), exact beating a wildcard listed before it,
// case-insensitive SNI, and no route for an unknown name.
func TestL4SNIPassthrough(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "a.sni.test", "b.sni.test", "x.wild.sni.test", "exact.wild.sni.test")
	a := newTLSNameBackend(t, "a", pki, "a.sni.test")
	b := newTLSNameBackend(t, "b", pki, "b.sni.test")
	w := newTLSNameBackend(t, "w", pki, "x.wild.sni.test")
	e := newTLSNameBackend(t, "e", pki, "exact.wild.sni.test")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: sni-in, address: %s, protocol: tcp}
l4_routes:
  - {name: a-special, listeners: [sni-in], match: {sni: [a.sni.test], alpn: [x-special]}, upstream: e}
  - {name: wild, listeners: [sni-in], match: {sni: ["*.wild.sni.test"]}, upstream: w}
  - {name: exact, listeners: [sni-in], match: {sni: [exact.wild.sni.test]}, upstream: e}
  - {name: a, listeners: [sni-in], match: {sni: [a.sni.test]}, upstream: a}
  - {name: b, listeners: [sni-in], match: {sni: [b.sni.test]}, upstream: b}
upstreams:
  - {name: a, targets: [{url: "tcp://%s"}]}
  - {name: b, targets: [{url: "tcp://%s"}]}
  - {name: w, targets: [{url: "tcp://%s"}]}
  - {name: e, targets: [{url: "tcp://%s"}]}
`, addr, a.addr, b.addr, w.addr, e.addr))

	for _, c := range []struct{ sni, cn, backend string }{
		{"a.sni.test", "a.sni.test", "a"},
		{"b.sni.test", "b.sni.test", "b"},
		{"B.SNI.Test", "b.sni.test", "b"},
		{"x.wild.sni.test", "x.wild.sni.test", "w"},
		{"deep.x.wild.sni.test", "x.wild.sni.test", "w"}, // wildcard matches more than one label
		{"exact.wild.sni.test", "exact.wild.sni.test", "e"},
	} {
		var verify *testPKI
		if strings.EqualFold(c.sni, c.cn) {
			verify = pki // the name is the certificate's: verify the chain too
		}
		conn, cn, err := tlsDial(addr, c.sni, verify)
		if err != nil {
			t.Errorf("SNI %s: TLS through the passthrough listener: %v", c.sni, err)
			continue
		}
		br := bufio.NewReader(conn)
		hello, err := br.ReadString('\n')
		if cn != c.cn {
			t.Errorf("SNI %s: the client saw a certificate for %q, want the backend's own %q", c.sni, cn, c.cn)
		}
		if strings.TrimSpace(hello) != c.backend || err != nil {
			t.Errorf("SNI %s: backend greeting %q (%v), want %q", c.sni, hello, err, c.backend)
		}
		if reply, err := exchangeLine(conn, br, "over-tls"); err != nil || reply != c.backend+":over-tls" {
			t.Errorf("SNI %s: echo over the passthrough connection: %q, %v", c.sni, reply, err)
		}
		conn.Close()
	}
	// ALPN: a.sni.test offering x-special matches the route listed first
	// (same SNI specificity, so configuration order decides).
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "a.sni.test", NextProtos: []string{"h2", "x-special"}, InsecureSkipVerify: true})
	if err != nil {
		t.Errorf("SNI a.sni.test with ALPN x-special: %v", err)
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		hello, _ := bufio.NewReader(conn).ReadString('\n')
		if cn := conn.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "exact.wild.sni.test" || hello != "e\n" {
			t.Errorf("SNI a.sni.test with ALPN x-special: certificate %q, greeting %q; want backend e (the alpn route)", cn, hello)
		}
		conn.Close()
	}

	// No route: an unknown name and the bare wildcard suffix are closed
	// without a handshake.
	for _, sni := range []string{"c.sni.test", "wild.sni.test"} {
		conn, cn, err := tlsDial(addr, sni, nil)
		if err == nil {
			conn.Close()
			t.Errorf("SNI %s (no route): handshake succeeded with a certificate for %q, want the connection closed", sni, cn)
		}
	}
}

// TestL4MixedHTTPSListener: one https listener passes pass.example.test
// through raw to a TLS backend (an l4_route naming the listener) and
// terminates every other name with its own certificate for the HTTP
// router.
func TestL4MixedHTTPSListener(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "web.example.test", "pass.example.test")
	pass := newTLSNameBackend(t, "pass", pki, "pass.example.test")
	addr := freeAddr(t)
	web := pki.files["web.example.test"]
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: web-in
    address: %s
    protocol: https
    tls: {certificates: [{cert_file: %s, key_file: %s}]}
l4_routes:
  - {name: pass, listeners: [web-in], match: {sni: [pass.example.test]}, upstream: pass}
upstreams:
  - {name: pass, targets: [{url: "tcp://%s"}]}
routes:
  - name: web
    match: {hosts: [web.example.test]}
    respond: {status: 200, body: "web via gateway"}
`, addr, web[0], web[1], pass.addr))

	conn, cn, err := tlsDial(addr, "pass.example.test", pki)
	if err != nil {
		t.Fatalf("TLS to pass.example.test through the mixed listener: %v", err)
	}
	if cn != "pass.example.test" {
		t.Errorf("pass.example.test: certificate for %q, want the backend's own", cn)
	}
	br := bufio.NewReader(conn)
	if hello, err := br.ReadString('\n'); hello != "pass\n" {
		t.Errorf("pass.example.test: greeting %q (%v), want the passthrough backend's \"pass\"", hello, err)
	}
	conn.Close()

	conn, cn, err = tlsDial(addr, "web.example.test", pki)
	if err != nil {
		t.Fatalf("TLS to web.example.test through the mixed listener: %v", err)
	}
	defer conn.Close()
	if cn != "web.example.test" {
		t.Errorf("web.example.test: certificate for %q, want the gateway's", cn)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: web.example.test\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("web.example.test: reading the HTTP response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "web via gateway" {
		t.Errorf("web.example.test: %d %q, want 200 \"web via gateway\"", resp.StatusCode, body)
	}

	// An ordinary HTTPS client (offering h2 and http/1.1) is terminated too.
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}, ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	resp2, body2 := get(t, &http.Client{Transport: tr, Timeout: 10 * time.Second}, "https://web.example.test/", "")
	if resp2.StatusCode != 200 || body2 != "web via gateway" {
		t.Errorf("https://web.example.test/ with a standard client (%s): %d %q", resp2.Proto, resp2.StatusCode, body2)
	}
}

// TestL4TLSTerminated: a tls listener terminates TLS with the certificate
// chosen by SNI and forwards plain TCP (the echo backends speak no TLS);
// routes match the negotiated name.
func TestL4TLSTerminated(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "one.tls.test", "two.tls.test")
	a, b := newEchoBackend(t, "a"), newEchoBackend(t, "b")
	addr := freeAddr(t)
	one, two := pki.files["one.tls.test"], pki.files["two.tls.test"]
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: tls-in
    address: %s
    protocol: tls
    tls: {certificates: [{cert_file: %s, key_file: %s}, {cert_file: %s, key_file: %s}]}
l4_routes:
  - {name: one, listeners: [tls-in], match: {sni: [one.tls.test]}, upstream: a}
  - {name: special, listeners: [tls-in], match: {alpn: [x-special]}, upstream: a}
  - {name: other, listeners: [tls-in], upstream: b}
upstreams:
  - {name: a, targets: [{url: "tcp://%s"}]}
  - {name: b, targets: [{url: "tcp://%s"}]}
`, addr, one[0], one[1], two[0], two[1], a.addr, b.addr))

	// ALPN is negotiated before routing: the listener offers the protocols
	// its routes match, so a client offering x-special gets it and the
	// route that matches it.
	alpnConn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "two.tls.test", RootCAs: pki.pool, NextProtos: []string{"x-special", "other"}})
	if err != nil {
		t.Fatalf("TLS with ALPN: %v", err)
	}
	if p := alpnConn.ConnectionState().NegotiatedProtocol; p != "x-special" {
		t.Errorf("negotiated ALPN %q, want x-special (the protocol a route matches)", p)
	}
	alpnConn.SetDeadline(time.Now().Add(10 * time.Second))
	if reply, err := exchangeLine(alpnConn, bufio.NewReader(alpnConn), "by-alpn"); err != nil || reply != "a:by-alpn" {
		t.Errorf("ALPN x-special: reply %q (%v), want a:by-alpn", reply, err)
	}
	alpnConn.Close()

	for _, c := range []struct{ sni, backend string }{{"one.tls.test", "a"}, {"two.tls.test", "b"}} {
		conn, cn, err := tlsDial(addr, c.sni, pki)
		if err != nil {
			t.Errorf("TLS to the tls listener with SNI %s: %v", c.sni, err)
			continue
		}
		if cn != c.sni {
			t.Errorf("SNI %s: the gateway presented a certificate for %q", c.sni, cn)
		}
		reply, err := exchangeLine(conn, bufio.NewReader(conn), "plain-behind-tls")
		if err != nil || reply != c.backend+":plain-behind-tls" {
			t.Errorf("SNI %s: reply %q (%v), want %q (decrypted and forwarded as plain TCP)", c.sni, reply, err, c.backend+":plain-behind-tls")
		}
		conn.Close()
	}
}

// TestL4DestinationPorts: one route set on two tcp listeners tells them
// apart by match.destination_ports.
func TestL4DestinationPorts(t *testing.T) {
	t.Parallel()
	a, b := newEchoBackend(t, "a"), newEchoBackend(t, "b")
	p1, p2 := freePort(t), freePort(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: in-1, address: "127.0.0.1:%d", protocol: tcp}
  - {name: in-2, address: "127.0.0.1:%d", protocol: tcp}
l4_routes:
  - {name: port-1, match: {destination_ports: [%d]}, upstream: a}
  - {name: rest, upstream: b}
upstreams:
  - {name: a, targets: [{url: "tcp://%s"}]}
  - {name: b, targets: [{url: "tcp://%s"}]}
`, p1, p2, p1, a.addr, b.addr))
	for _, c := range []struct {
		port int
		want string
	}{{p1, "a:x"}, {p2, "b:x"}} {
		if reply, err := echoOnce(fmt.Sprintf("127.0.0.1:%d", c.port), "x"); err != nil || reply != c.want {
			t.Errorf("port %d: reply %q (%v), want %q", c.port, reply, err, c.want)
		}
	}
}

// writeProxyHeader writes a PROXY protocol header of version (1 or 2)
// claiming the connection comes from src.
func writeProxyHeader(t *testing.T, c net.Conn, version byte, src string) {
	t.Helper()
	s, err := net.ResolveTCPAddr("tcp", src)
	if err != nil {
		t.Fatal(err)
	}
	h := proxyproto.HeaderProxyFromAddrs(version, s, c.RemoteAddr())
	if _, err := h.WriteTo(c); err != nil {
		t.Fatalf("writing the PROXY v%d header: %v", version, err)
	}
}

// TestL4ProxyProtocolSend: an upstream with proxy_protocol v2 (and one with
// v1) gets a header, parsed by go-proxyproto, whose source is exactly the
// client's address.
func TestL4ProxyProtocolSend(t *testing.T) {
	t.Parallel()
	be := newProxyEchoBackend(t, "pp")
	v2, v1 := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: in-v2, address: %s, protocol: tcp}
  - {name: in-v1, address: %s, protocol: tcp}
l4_routes:
  - {name: v2, listeners: [in-v2], upstream: pp-v2}
  - {name: v1, listeners: [in-v1], upstream: pp-v1}
upstreams:
  - {name: pp-v2, proxy_protocol: v2, targets: [{url: "tcp://%s"}]}
  - {name: pp-v1, proxy_protocol: v1, targets: [{url: "tcp://%s"}]}
`, v2, v1, be.addr, be.addr))

	for _, c := range []struct {
		addr    string
		version int
	}{{v2, 2}, {v1, 1}} {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		reply, err := exchangeLine(conn, bufio.NewReader(conn), "hi")
		conn.Close()
		want := fmt.Sprintf("pp:v%d %s:hi", c.version, conn.LocalAddr())
		if err != nil || reply != want {
			t.Errorf("proxy_protocol v%d: the backend answered %q (%v), want %q (the header's source = the client's address)", c.version, reply, err, want)
		}
	}
}

// TestL4ProxyProtocolAcceptTCP: a tcp listener believes PROXY headers (v2
// and v1) from its trusted peer: a made-up source in 203.0.113.0/24 is
// routed by match.client_ips to backend A and passed on in the v2 header
// A receives; the same peer without a header is routed by its own address.
func TestL4ProxyProtocolAcceptTCP(t *testing.T) {
	t.Parallel()
	a := newProxyEchoBackend(t, "a")
	b := newEchoBackend(t, "b")
	addr, strict := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: pp-in
    address: %s
    protocol: tcp
    proxy_protocol: {trusted: [127.0.0.1/32], timeout: 500ms}
  - name: pp-required
    address: %s
    protocol: tcp
    proxy_protocol: {trusted: [127.0.0.1/32], required: true}
l4_routes:
  - {name: doc, listeners: [pp-in, pp-required], match: {client_ips: [203.0.113.0/24]}, upstream: a}
  - {name: rest, listeners: [pp-in, pp-required], upstream: b}
upstreams:
  - {name: a, proxy_protocol: v2, targets: [{url: "tcp://%s"}]}
  - {name: b, targets: [{url: "tcp://%s"}]}
`, addr, strict, a.addr, b.addr))

	for _, c := range []struct {
		version byte
		src     string
	}{{2, "203.0.113.7:40000"}, {1, "203.0.113.9:40001"}} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		writeProxyHeader(t, conn, c.version, c.src)
		reply, err := exchangeLine(conn, bufio.NewReader(conn), "hi")
		conn.Close()
		if want := "a:v2 " + c.src + ":hi"; err != nil || reply != want {
			t.Errorf("PROXY v%d from %s by a trusted peer: reply %q (%v), want %q (routed by the header's source and passed on)", c.version, c.src, reply, err, want)
		}
	}
	if reply, err := echoOnce(addr, "plain"); err != nil || reply != "b:plain" {
		t.Errorf("no header from a trusted peer (not required): reply %q (%v), want \"b:plain\"", reply, err)
	}

	// required: true: a trusted peer's header is believed, its absence
	// closes the connection.
	conn, err := net.DialTimeout("tcp", strict, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	writeProxyHeader(t, conn, 2, "203.0.113.8:40002")
	if reply, err := exchangeLine(conn, bufio.NewReader(conn), "hi"); err != nil || reply != "a:v2 203.0.113.8:40002:hi" {
		t.Errorf("required PROXY header sent: reply %q (%v), want \"a:v2 203.0.113.8:40002:hi\"", reply, err)
	}
	conn.Close()
	if reply, err := echoOnce(strict, "plain"); err == nil || isTimeout(err) {
		t.Errorf("no header on a listener with required: true: reply %q (%v), want the connection closed unanswered", reply, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestL4ProxyProtocolAcceptHTTP: an HTTP listener accepts a PROXY v2
// header from its trusted peer and the backend sees the header's source
// in X-Forwarded-For (an L4 tier in front keeps the client address).
func TestL4ProxyProtocolAcceptHTTP(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "web")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
    proxy_protocol: {trusted: [127.0.0.1/32]}
upstreams:
  - {name: web, targets: [{url: "%s"}]}
routes:
  - {name: all, backend: {upstream: web}}
`, addr, be.url))

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	writeProxyHeader(t, conn, 2, "203.0.113.7:40000")
	io.WriteString(conn, "GET /pp HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("HTTP after a PROXY v2 header: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep echoReply
	if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil {
		t.Fatalf("HTTP after a PROXY v2 header: %d %q", resp.StatusCode, body)
	}
	if got := rep.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "203.0.113.7" {
		t.Errorf("X-Forwarded-For at the backend: %q, want [203.0.113.7] (the PROXY header's source)", got)
	}
}

// TestL4ProxyProtocolSendHTTP: an HTTP upstream with proxy_protocol: v2
// gets a header carrying the client's address on each connection.
func TestL4ProxyProtocolSendHTTP(t *testing.T) {
	t.Parallel()
	be := newProxyHTTPBackend(t)
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: web, address: %s}
upstreams:
  - {name: pp, proxy_protocol: v2, targets: [{url: "%s"}]}
routes:
  - {name: all, backend: {upstream: pp}}
`, addr, be))
	resp, body := get(t, clientFrom(t, "127.0.0.3"), "http://"+addr+"/", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "127.0.0.3:") {
		t.Errorf("the HTTP backend saw the client as %q (status %d), want 127.0.0.3:PORT from the PROXY header", body, resp.StatusCode)
	}
}

// TestL4TwoTiersKeepClientIP: a tcp listener (the L4 tier) sends PROXY v2
// to an HTTP listener (the L7 tier) that trusts it; the HTTP backend sees
// the original client (127.0.0.2) in X-Forwarded-For, not the L4 tier's
// 127.0.0.1.
func TestL4TwoTiersKeepClientIP(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "web")
	l4, l7 := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: l4, address: %s, protocol: tcp}
  - {name: l7, address: %s, proxy_protocol: {trusted: [127.0.0.1/32]}}
l4_routes:
  - {name: to-l7, listeners: [l4], upstream: l7-tier}
upstreams:
  - {name: l7-tier, proxy_protocol: v2, targets: [{url: "tcp://%s"}]}
  - {name: web, targets: [{url: "%s"}]}
routes:
  - {name: all, listeners: [l7], backend: {upstream: web}}
`, l4, l7, l7, be.url))
	resp, body := get(t, clientFrom(t, "127.0.0.2"), "http://"+l4+"/tiers", "")
	var rep echoReply
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("GET through both tiers: %d %q", resp.StatusCode, body)
	}
	if got := rep.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.2" {
		t.Errorf("X-Forwarded-For at the backend behind two tiers: %q, want [127.0.0.2] (the client, carried by PROXY v2)", got)
	}
}

// TestL4ProxyProtocolUntrustedRefused: a PROXY header from a peer outside
// the listener's trusted ranges closes the connection before any upstream
// is contacted; the same peer without a header is served normally.
func TestL4ProxyProtocolUntrustedRefused(t *testing.T) {
	t.Parallel()
	be := newEchoBackend(t, "a")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: pp-in
    address: %s
    protocol: tcp
    proxy_protocol: {trusted: [10.0.0.0/8]}
l4_routes:
  - {name: all, listeners: [pp-in], upstream: a}
upstreams:
  - {name: a, targets: [{url: "tcp://%s"}]}
`, addr, be.addr))

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	writeProxyHeader(t, conn, 2, "203.0.113.7:40000")
	io.WriteString(conn, "hi\n")
	got, err := io.ReadAll(conn)
	conn.Close()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("PROXY header from an untrusted peer: the connection stayed open for 10s, want it closed")
	}
	if len(got) != 0 {
		t.Errorf("PROXY header from an untrusted peer: got %q from the backend, want the connection closed unanswered", got)
	}
	if n := be.accepted.Load(); n != 0 {
		t.Errorf("the backend accepted %d connections for a refused PROXY header, want 0", n)
	}
	if !waitFor(5*time.Second, func() bool {
		return sumMetric(g.metrics(), "gatehouse_l4_connections_total", `listener="pp-in"`, `result="proxy_protocol"`) >= 1
	}) {
		t.Errorf(`no gatehouse_l4_connections_total{result="proxy_protocol"} for the refused header:\n%s`, grepLines(g.metrics(), "gatehouse_l4_connections_total"))
	}
	if reply, err := echoOnce(addr, "plain"); err != nil || reply != "a:plain" {
		t.Errorf("an untrusted peer without a header: reply %q (%v), want \"a:plain\"", reply, err)
	}
}

// TestL4BackendDeathUnderConnectionStream: one of three targets dies while
// clients open connections continuously. No client connection fails (a
// refused connect is retried on another target), and the tcp health check
// takes the dead target out of rotation within interval × threshold, after
// which it gets no more connections.
//
// The kill is taken while no client connection is in flight (a gate the
// clients hold in read mode): a connection the kernel had already
// completed into the dying backend's accept queue is reset when the
// listener closes, after the gateway's connect succeeded, and no L4 proxy
// can retry that without replaying bytes. The stream resumes at once, so
// every connection after the kill meets the dead target as refused.
func TestL4BackendDeathUnderConnectionStream(t *testing.T) {
	t.Parallel()
	bs := []*tcpBackend{newEchoBackend(t, "a"), newEchoBackend(t, "b"), newEchoBackend(t, "c")}
	dead := bs[1]
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: tcp-in, address: %s, protocol: tcp}
access_log: {enabled: false}
log: {level: debug}
l4_routes:
  - {name: all, listeners: [tcp-in], upstream: pool}
upstreams:
  - name: pool
    balance: round_robin
    targets: [{url: "tcp://%s"}, {url: "tcp://%s"}, {url: "tcp://%s"}]
    health_check: {type: tcp, interval: 100ms, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1}
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))

	var (
		gate         sync.RWMutex
		sent, failed atomic.Int64
		firstErr     atomic.Value
		byName       sync.Map // name -> *atomic.Int64
		stop         = make(chan struct{})
		wg           sync.WaitGroup
		deadline     = time.Now().Add(90 * time.Second) // hard bound
		count        = func(name string) int64 {
			v, _ := byName.LoadOrStore(name, new(atomic.Int64))
			return v.(*atomic.Int64).Load()
		}
		stopOnce    sync.Once
		stopAndWait = func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	)
	defer stopAndWait()
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := fmt.Sprintf("w%d-%d", w, i)
				gate.RLock()
				reply, err := echoOnce(addr, msg)
				gate.RUnlock()
				sent.Add(1)
				name, rest, _ := strings.Cut(reply, ":")
				if err != nil || rest != msg {
					if failed.Add(1) == 1 {
						firstErr.Store(fmt.Sprintf("%s: reply %q, %v", msg, reply, err))
					}
					continue
				}
				v, _ := byName.LoadOrStore(name, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		}()
	}
	if !waitFor(30*time.Second, func() bool { return count("a") >= 20 && count("b") >= 20 && count("c") >= 20 }) {
		t.Fatalf("the stream did not reach every backend 20 times in 30s: a=%d b=%d c=%d failed=%d (%v)", count("a"), count("b"), count("c"), failed.Load(), firstErr.Load())
	}
	gate.Lock()
	dead.kill()
	killed := time.Now()
	gate.Unlock()

	healthy := fmt.Sprintf(`gatehouse_upstream_target_healthy{target=%q,upstream="pool"}`, dead.addr)
	if !waitFor(5*time.Second, func() bool { v, ok := metricValue(g.metrics(), healthy); return ok && v == 0 }) {
		t.Errorf("the dead target is still healthy 5s after it died:\n%s", grepLines(g.metrics(), "target_healthy"))
	}
	left := time.Since(killed)
	// interval × unhealthy_threshold = 200ms; allow for a loaded machine.
	if left > 2*time.Second {
		t.Errorf("the dead target left rotation %v after it died, want within ~interval × unhealthy_threshold (200ms)", left)
	}
	// Let connections picked before the health change finish, then the dead
	// target must see no further attempt while 300 more connections pass.
	settle := sent.Load() + 100
	if !waitFor(20*time.Second, func() bool { return sent.Load() >= settle }) {
		t.Fatalf("the stream stalled after the kill: sent=%d failed=%d (%v)", sent.Load(), failed.Load(), firstErr.Load())
	}
	// Connect attempts are seen two ways: connections recorded with the
	// dead target, and the debug line of each failed connect (a failed
	// attempt that was retried elsewhere is recorded with the target that
	// took the connection).
	failedConnects := func() int {
		n := 0
		for _, l := range strings.Split(g.logs(), "\n") {
			if strings.Contains(l, "l4 connect failed") && strings.Contains(l, dead.addr) {
				n++
			}
		}
		return n
	}
	before := sumMetric(g.metrics(), "gatehouse_l4_connections_total", fmt.Sprintf("target=%q", dead.addr))
	beforeLog := failedConnects()
	more := sent.Load() + 300
	if !waitFor(30*time.Second, func() bool { return sent.Load() >= more }) {
		t.Fatalf("the stream stalled after the dead target left rotation: sent=%d failed=%d (%v)", sent.Load(), failed.Load(), firstErr.Load())
	}
	m := g.metrics()
	if after := sumMetric(m, "gatehouse_l4_connections_total", fmt.Sprintf("target=%q", dead.addr)); after != before {
		t.Errorf("connections to the dead target grew from %v to %v after it left rotation:\n%s", before, after, grepLines(m, "gatehouse_l4_connections_total"))
	}
	if afterLog := failedConnects(); afterLog != beforeLog {
		t.Errorf("connect attempts to the dead target went on after it left rotation: %d failed connects logged before 300 more connections, %d after", beforeLog, afterLog)
	}
	if beforeLog == 0 {
		t.Logf("note: no \"l4 connect failed\" debug line for the dead target at all; the attempt count rests on the metric only")
	} else {
		t.Logf("failed connects to the dead target (all retried elsewhere) before it left rotation: %d", beforeLog)
	}
	stopAndWait()
	t.Logf("backend death under a connection stream: sent=%d failed=%d; a=%d b=%d c=%d; out of rotation after %v",
		sent.Load(), failed.Load(), count("a"), count("b"), count("c"), left.Round(time.Millisecond))
	if f := failed.Load(); f != 0 {
		t.Errorf("%d of %d client connections failed (first: %v); want 0 (connect retry on another target)", f, sent.Load(), firstErr.Load())
	}
}

// TestL4ReloadDrainsRemovedTarget: a reload that removes target B leaves
// B's open connection working for the grace period while new connections
// go to A only, then closes it.
func TestL4ReloadDrainsRemovedTarget(t *testing.T) {
	t.Parallel()
	a, b := newEchoBackend(t, "a"), newEchoBackend(t, "b")
	addr := freeAddr(t)
	const grace = 3 * time.Second
	cfg := func(targets string) string {
		return fmt.Sprintf(`
listeners:
  - {name: tcp-in, address: %s, protocol: tcp}
reload: {watch: false}
shutdown: {grace_period: %s}
l4_routes:
  - {name: all, listeners: [tcp-in], upstream: pool}
upstreams:
  - name: pool
    balance: round_robin
    targets: [%s]
`, addr, grace, targets)
	}
	g := startGateway(t, cfg(fmt.Sprintf(`{url: "tcp://%s"}, {url: "tcp://%s"}`, a.addr, b.addr)))

	// Round robin: one of the first two connections is on B; keep it.
	var kept net.Conn
	var keptR *bufio.Reader
	for i := 0; i < 4 && kept == nil; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(c)
		reply, err := exchangeLine(c, br, "first")
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if replyName(reply) == "b" {
			kept, keptR = c, br
			continue
		}
		c.Close()
	}
	if kept == nil {
		t.Fatal("no connection reached B in 4 round-robin tries")
	}
	defer kept.Close()

	reloads := g.countLog("configuration reloaded")
	g.rewrite(cfg(fmt.Sprintf(`{url: "tcp://%s"}`, a.addr)))
	reloadAt := time.Now()
	g.reload()
	if !waitFor(10*time.Second, func() bool { return g.countLog("configuration reloaded") > reloads }) {
		t.Fatalf("no \"configuration reloaded\" in the log 10s after SIGHUP:\n%s", tail(g.logs(), 3000))
	}
	if reply, err := exchangeLine(kept, keptR, "after-reload"); err != nil || reply != "b:after-reload" {
		t.Fatalf("B's open connection after the reload: %q, %v; want it to keep working during the grace period", reply, err)
	}
	for i := range 10 {
		reply, err := echoOnce(addr, "new")
		if err != nil || reply != "a:new" {
			t.Fatalf("new connection %d after removing B: %q, %v; want A only", i, reply, err)
		}
	}
	if open := b.open(); open != 1 {
		t.Errorf("B holds %d connections after the reload, want exactly the kept one", open)
	}
	// After the grace period the gateway closes it.
	kept.SetReadDeadline(reloadAt.Add(grace + 10*time.Second))
	_, err := keptR.ReadString('\n')
	closedAfter := time.Since(reloadAt)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("B's connection still open %v after the reload; want it closed after the %v grace period", closedAfter.Round(time.Millisecond), grace)
	}
	if closedAfter < grace-100*time.Millisecond {
		t.Errorf("B's connection closed %v after the reload, before the %v grace period ended", closedAfter.Round(time.Millisecond), grace)
	}
	t.Logf("drained connection closed %v after the reload (grace %v): %v", closedAfter.Round(time.Millisecond), grace, err)
}

// TestL4IdleTimeout: a route's idle_timeout closes a connection after that
// long without a byte either way, not after that long in total: traffic
// every 100ms keeps it open for 2.5 × the timeout, then silence closes it.
func TestL4IdleTimeout(t *testing.T) {
	t.Parallel()
	a := newEchoBackend(t, "a")
	addr := freeAddr(t)
	const idle = time.Second
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: tcp-in, address: %s, protocol: tcp}
l4_routes:
  - {name: all, listeners: [tcp-in], upstream: a, idle_timeout: %s}
upstreams:
  - {name: a, targets: [{url: "tcp://%s"}]}
`, addr, idle, a.addr))

	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	start := time.Now()
	var last time.Time // when the last byte arrived
	for i := 0; time.Since(start) < 5*idle/2; i++ {
		if i > 0 {
			time.Sleep(100 * time.Millisecond) // pacing the traffic, not waiting for a condition
		}
		msg := "tick-" + strconv.Itoa(i)
		if reply, err := exchangeLine(c, br, msg); err != nil || reply != "a:"+msg {
			t.Fatalf("%v into a connection with traffic every 100ms (idle_timeout %v): %q, %v; want it kept open", time.Since(start).Round(time.Millisecond), idle, reply, err)
		}
		last = time.Now()
	}
	c.SetReadDeadline(last.Add(idle + 10*time.Second))
	_, err = br.ReadString('\n')
	closedAfter := time.Since(last)
	if isTimeout(err) {
		t.Fatalf("the connection was still open %v after its last byte (idle_timeout %v)", closedAfter.Round(time.Millisecond), idle)
	}
	if closedAfter < idle-100*time.Millisecond {
		t.Errorf("the connection closed %v after its last byte, before idle_timeout %v", closedAfter.Round(time.Millisecond), idle)
	}
	t.Logf("idle connection closed %v after its last byte (idle_timeout %v): %v", closedAfter.Round(time.Millisecond), idle, err)
	if !waitFor(5*time.Second, func() bool { return strings.Contains(g.accessLog(), `"close":"idle_timeout"`) }) {
		t.Errorf("no access log line with close idle_timeout:\n%s", tail(g.accessLog(), 2000))
	}
}

// TestL4ListenerMaxConnections: with max_connections: 2 a third
// connection is closed at once while two are open, and accepted again
// once one of them ends.
func TestL4ListenerMaxConnections(t *testing.T) {
	t.Parallel()
	a := newEchoBackend(t, "a")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: tcp-in, address: %s, protocol: tcp, max_connections: 2}
l4_routes:
  - {name: all, listeners: [tcp-in], upstream: a}
upstreams:
  - {name: a, targets: [{url: "tcp://%s"}]}
`, addr, a.addr))
	var held []net.Conn
	for i := range 2 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if reply, err := exchangeLine(c, bufio.NewReader(c), "held"); err != nil || reply != "a:held" {
			t.Fatalf("held connection %d: %q, %v", i, reply, err)
		}
		held = append(held, c)
	}
	if reply, err := echoOnce(addr, "third"); err == nil || isTimeout(err) {
		t.Errorf("a third connection with max_connections 2: reply %q (%v), want it closed at once", reply, err)
	}
	held[0].Close()
	var (
		reply string
		err   error
	)
	if !waitFor(5*time.Second, func() bool { reply, err = echoOnce(addr, "again"); return err == nil }) {
		t.Errorf("no connection accepted within 5s after one of the two ended: %q, %v", reply, err)
	}
	if !waitFor(5*time.Second, func() bool {
		return sumMetric(g.metrics(), "gatehouse_l4_connections_total", `listener="tcp-in"`, `result="limited"`) >= 1
	}) {
		t.Errorf(`no gatehouse_l4_connections_total{result="limited"}:\n%s`, grepLines(g.metrics(), "gatehouse_l4_connections_total"))
	}
}

// TestL4HashOnClientIP: balance: hash on client_ip keeps each client
// address (127.0.0.2 to .9, any source port) on one target.
func TestL4HashOnClientIP(t *testing.T) {
	t.Parallel()
	bs := []*tcpBackend{newEchoBackend(t, "a"), newEchoBackend(t, "b"), newEchoBackend(t, "c")}
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: tcp-in, address: %s, protocol: tcp}
l4_routes:
  - {name: all, listeners: [tcp-in], upstream: pool}
upstreams:
  - name: pool
    balance: hash
    hash: {on: client_ip}
    targets: [{url: "tcp://%s"}, {url: "tcp://%s"}, {url: "tcp://%s"}]
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))
	used := map[string]bool{}
	for i := 2; i <= 9; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		first := ""
		for j := range 4 {
			reply, err := echoFrom(ip, addr, "h")
			if err != nil {
				t.Fatalf("from %s: %v", ip, err)
			}
			name := replyName(reply)
			if j == 0 {
				first = name
			} else if name != first {
				t.Errorf("client %s went to %s, then to %s; want one target per client address", ip, first, name)
			}
		}
		used[first] = true
	}
	if len(used) < 2 {
		t.Errorf("8 client addresses all hashed to %v; want them spread", used)
	}
}

// TestL4UDPSessions: DNS-style request/response through udp listeners.
// Each client socket is one session, pinned to one backend for all its
// datagrams (two sockets, round robin: one backend each); a session ends
// after timeouts.idle without traffic, which the active gauge shows.
//
// Affinity is checked on a listener with a 10s idle timeout so that a
// scheduling stall on a loaded machine cannot end a session between two
// requests and make a new one on the other backend; expiry is checked on a
// second listener with idle 300ms.
func TestL4UDPSessions(t *testing.T) {
	t.Parallel()
	bs := []*udpBackend{newUDPEcho(t, "a"), newUDPEcho(t, "b")}
	addr, short := freeAddr(t), freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: udp-in, address: %s, protocol: udp, timeouts: {idle: 10s}}
  - {name: udp-short, address: %s, protocol: udp, timeouts: {idle: 300ms}}
l4_routes:
  - {name: dns, listeners: [udp-in], upstream: dns, responses: -1}
  - {name: short, listeners: [udp-short], upstream: dns, responses: -1}
upstreams:
  - name: dns
    balance: round_robin
    targets: [{url: "udp://%s"}, {url: "udp://%s"}]
`, addr, short, bs[0].addr, bs[1].addr))

	socks := [2]*net.UDPConn{udpDial(t, addr), udpDial(t, addr)}
	var seen [2]map[string]int
	for i := range seen {
		seen[i] = map[string]int{}
	}
	for i := range 20 {
		for s, sock := range socks {
			q := fmt.Sprintf("query-%d-%d", s, i)
			reply, err := udpAsk(sock, q)
			name, rest, _ := strings.Cut(reply, ":")
			if err != nil || rest != q {
				t.Fatalf("socket %d, request %d: reply %q, %v", s, i, reply, err)
			}
			seen[s][name]++
		}
	}
	for s := range seen {
		if len(seen[s]) != 1 {
			t.Errorf("socket %d was answered by %v, want one backend for all 20 requests (session affinity)", s, seen[s])
		}
	}
	if fmt.Sprint(seen[0]) == fmt.Sprint(seen[1]) {
		t.Errorf("both sockets' sessions went to the same backend (%v), want one each (round robin per session)", seen[0])
	}
	if v, _ := metricValue(g.metrics(), `gatehouse_l4_active_connections{listener="udp-in",route="dns"}`); v != 2 {
		t.Errorf(`gatehouse_l4_active_connections{listener="udp-in",route="dns"} = %v, want 2 (one session per client socket)`, v)
	}

	// Expiry: keep one session alive on the short listener until the gauge
	// shows it, then stop sending; it must end after ~300ms.
	s := udpDial(t, short)
	gauge := `gatehouse_l4_active_connections{listener="udp-short",route="short"}`
	if !waitFor(10*time.Second, func() bool {
		if reply, err := udpAsk(s, "keepalive"); err != nil || !strings.HasSuffix(reply, ":keepalive") {
			return false
		}
		v, _ := metricValue(g.metrics(), gauge)
		return v >= 1
	}) {
		t.Fatalf("%s never showed an open session:\n%s", gauge, grepLines(g.metrics(), "gatehouse_l4_"))
	}
	lastDatagram := time.Now()
	if !waitFor(5*time.Second, func() bool { v, ok := metricValue(g.metrics(), gauge); return ok && v == 0 }) {
		t.Errorf("%s did not return to 0 within 5s of the last datagram (idle 300ms):\n%s", gauge, grepLines(g.metrics(), "gatehouse_l4_"))
	}
	t.Logf("UDP sessions: %v / %v; the short-idle session ended %v after its last datagram", seen[0], seen[1], time.Since(lastDatagram).Round(time.Millisecond))
	var m string
	if !waitFor(5*time.Second, func() bool {
		m = g.metrics()
		return sumMetric(m, "gatehouse_l4_connections_total", `listener="udp-short"`) >= 1
	}) {
		t.Errorf("gatehouse_l4_connections_total for udp-short = 0 after its session expired, want >= 1 (one per ended session):\n%s", grepLines(m, "gatehouse_l4_connections_total"))
	}
}

// udpAsk sends q on s and returns the one datagram that answers it.
func udpAsk(s *net.UDPConn, q string) (string, error) {
	s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write([]byte(q)); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := s.Read(buf)
	return string(buf[:n]), err
}

// udpDial is a connected UDP socket to addr, closed at cleanup.
func udpDial(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestL4UDPHealthCheck: a udp health check (send, expect) takes a dead
// target out of rotation; new sessions then all go to the live one.
func TestL4UDPHealthCheck(t *testing.T) {
	t.Parallel()
	a, b := newUDPEcho(t, "a"), newUDPEcho(t, "b")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: udp-in, address: %s, protocol: udp, timeouts: {idle: 10s}}
l4_routes:
  - {name: dns, listeners: [udp-in], upstream: dns}
upstreams:
  - name: dns
    balance: round_robin
    targets: [{url: "udp://%s"}, {url: "udp://%s"}]
    health_check: {type: udp, send: "probe", expect: "probe", interval: 100ms, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1}
`, addr, a.addr, b.addr))
	healthy := func(be *udpBackend) string {
		return fmt.Sprintf(`gatehouse_upstream_target_healthy{target=%q,upstream="dns"}`, be.addr)
	}
	if !waitFor(5*time.Second, func() bool { return a.received.Load() > 0 && b.received.Load() > 0 }) {
		t.Fatalf("no health probe reached both backends in 5s (a=%d b=%d datagrams)", a.received.Load(), b.received.Load())
	}
	b.kill()
	if !waitFor(5*time.Second, func() bool { v, ok := metricValue(g.metrics(), healthy(b)); return ok && v == 0 }) {
		t.Fatalf("the dead udp target is still healthy 5s after it died:\n%s", grepLines(g.metrics(), "target_healthy"))
	}
	if v, _ := metricValue(g.metrics(), healthy(a)); v != 1 {
		t.Errorf("%s = %v, want 1 (it answers the probe)", healthy(a), v)
	}
	for i := range 6 {
		reply, err := udpAsk(udpDial(t, addr), "q")
		if err != nil || reply != "a:q" {
			t.Errorf("new session %d after b died: %q, %v; want a:q", i, reply, err)
		}
	}
}

// TestL4UDPProxyProtocol: an upstream with proxy_protocol: v2 on a udp
// route gets a header in front of every datagram, naming the client.
func TestL4UDPProxyProtocol(t *testing.T) {
	t.Parallel()
	be := newUDPProxyEcho(t, "pp")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: udp-in, address: %s, protocol: udp}
l4_routes:
  - {name: all, listeners: [udp-in], upstream: pp}
upstreams:
  - {name: pp, proxy_protocol: v2, targets: [{url: "udp://%s"}]}
`, addr, be.addr))
	s := udpDial(t, addr)
	for i := range 3 {
		q := "dgram-" + strconv.Itoa(i)
		want := fmt.Sprintf("pp:%s:%s", s.LocalAddr(), q)
		if reply, err := udpAsk(s, q); err != nil || reply != want {
			t.Errorf("datagram %d: the backend answered %q (%v), want %q (a PROXY v2 header on every datagram)", i, reply, err, want)
		}
	}
}

// TestL4GiBTransferFlatMemory streams 1 GiB from a client through a tcp
// listener to a counting sink, which answers the byte count after the
// gateway half-closes towards it. Every byte must arrive, the byte
// counter must say exactly 1 GiB, and the gateway's peak RSS must stay
// far below the transfer (a splice or copy-buffer data path needs a few
// MiB; 64 MiB is the bound TestUploadStreamsWithBoundedMemory uses too).
// Measured on a build without -race (see plainGateway).
func TestL4GiBTransferFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB transfer: skipped with -short")
	}
	sink := newCountingSink(t, "sink")
	addr, admin := freeAddr(t), freeAddr(t)
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	yaml := fmt.Sprintf(`
listeners:
  - {name: bulk, address: %s, protocol: tcp}
l4_routes:
  - {name: bulk, listeners: [bulk], upstream: sink}
upstreams:
  - {name: sink, targets: [{url: "tcp://%s"}]}
`, addr, sink.addr) + adminTail(admin)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGatewayFile(t, plainGateway(t), path, admin)
	// The bound is on growth: the idle footprint depends on what the
	// binary links (the Kubernetes controller's client-go adds ~40 MiB of
	// mapped pages), not on how a transfer is carried.
	hwm0 := procMemKiB(t, g.pid(), "VmHWM")

	const size = 1 << 30
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	start := time.Now()
	buf := make([]byte, 256<<10)
	for sent := 0; sent < size; sent += len(buf) {
		if _, err := conn.Write(buf); err != nil {
			t.Fatalf("writing after %d MiB: %v", sent>>20, err)
		}
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(conn)
	elapsed := time.Since(start)
	if err != nil || strings.TrimSpace(string(reply)) != strconv.Itoa(size) {
		t.Fatalf("the sink counted %q (%v), want %d bytes", reply, err, size)
	}
	hwm, rss := procMemKiB(t, g.pid(), "VmHWM"), procMemKiB(t, g.pid(), "VmRSS")
	t.Logf("1 GiB through the tcp listener in %v (%.2f GB/s); gateway peak RSS %.1f MiB, now %.1f MiB",
		elapsed.Round(time.Millisecond), float64(size)/elapsed.Seconds()/1e9, float64(hwm)/1024, float64(rss)/1024)
	const growthMiB = 32
	if hwm-hwm0 > growthMiB*1024 {
		t.Errorf("gateway peak RSS grew %.1f MiB (%.1f → %.1f) during a 1 GiB transfer, more than %d MiB",
			float64(hwm-hwm0)/1024, float64(hwm0)/1024, float64(hwm)/1024, growthMiB)
	}
	up := fmt.Sprintf(`gatehouse_l4_bytes_total{direction="upstream",listener="bulk",route="bulk",target=%q}`, sink.addr)
	m := g.waitMetric(up, size, 10*time.Second)
	if v, _ := metricValue(m, up); v != size {
		t.Errorf("%s = %v, want exactly %d", up, v, size)
	}
	down := fmt.Sprintf(`gatehouse_l4_bytes_total{direction="downstream",listener="bulk",route="bulk",target=%q}`, sink.addr)
	if v, _ := metricValue(m, down); v != float64(len(reply)) {
		t.Errorf("%s = %v, want %d (the sink's answer)", down, v, len(reply))
	}
}

// TestValidateL4Errors: bad L4 configuration is exit 1 with FILE:LINE at
// the offending line.
func TestValidateL4Errors(t *testing.T) {
	t.Parallel()
	head := []string{
		"listeners:",                   // 1
		"  - name: tcp-in",             // 2
		"    address: 127.0.0.1:19000", // 3
		"    protocol: tcp",            // 4
		"upstreams:",                   // 5
		"  - name: pg",                 // 6
		`    targets: [{url: "tcp://127.0.0.1:5432"}]`, // 7
	}
	cases := []struct {
		name  string
		lines []string
		line  int
		want  string
	}{
		{"unknown upstream", append(append([]string{}, head...),
			"l4_routes:",        // 8
			"  - name: db",      // 9
			"    upstream: pgg", // 10
		), 10, `"pgg"`},
		{"proxy_protocol v3", append(append([]string{}, head...),
			"    proxy_protocol: v3", // 8
			"l4_routes:",             // 9
			"  - name: db",           // 10
			"    upstream: pg",       // 11
		), 8, `v3`},
		{"unknown listener protocol", []string{
			"listeners:",                   // 1
			"  - name: tcp-in",             // 2
			"    address: 127.0.0.1:19000", // 3
			"    protocol: sctp",           // 4
		}, 4, `"sctp"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "l4.yaml")
			if err := os.WriteFile(path, []byte(strings.Join(c.lines, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runValidate(t, path)
			out := stdout + stderr
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, out)
			}
			prefix := fmt.Sprintf("%s:%d:", path, c.line)
			for _, l := range strings.Split(out, "\n") {
				if rest, ok := strings.CutPrefix(l, prefix); ok && strings.Contains(rest, c.want) {
					return
				}
			}
			t.Errorf("validate output has no line starting %q and mentioning %s:\n%s", prefix, c.want, out)
		})
	}
}

// TestL4Example runs examples/l4.yaml unchanged on its fixed ports: an
// HTTP request through its tcp listener reaches the HTTP listener behind
// it (with a PROXY v2 header in between) and gets its answer.
func TestL4Example(t *testing.T) {
	for _, a := range []string{"127.0.0.1:9000", "127.0.0.1:9080", "127.0.0.1:9902"} {
		if !portFree(a) {
			t.Skipf("l4 example port %s is busy on this machine", a)
		}
	}
	// Run from a copy: the examples directory is not ours to watch.
	src, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "l4.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "l4.yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGatewayFile(t, gatehouseBin, path, "127.0.0.1:9902")
	c := httpClient(t)
	for i := range 3 {
		resp, body := get(t, c, "http://127.0.0.1:9000/", "")
		if resp.StatusCode != 200 || body != "hello through the L4 listener\n" {
			t.Fatalf("GET through the L4 port #%d: %d %q", i, resp.StatusCode, body)
		}
	}
	// The client's keep-alive connection is one L4 connection; it is
	// logged when it ends.
	c.Transport.(*http.Transport).CloseIdleConnections()
	if !waitFor(5*time.Second, func() bool { return strings.Contains(g.accessLog(), `"msg":"connection"`) }) {
		t.Errorf("no L4 connection line in the access log:\n%s", tail(g.accessLog(), 2000))
	}
}
