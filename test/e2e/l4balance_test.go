package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitGauge polls g's /metrics until series equals want exactly (a gauge
// may go down, which waitMetric's "at least" cannot wait for) and reports
// whether it did.
func (g *gw) waitGauge(series string, want float64, timeout time.Duration) bool {
	g.t.Helper()
	return waitFor(timeout, func() bool {
		v, ok := metricValue(g.metrics(), series)
		return ok && v == want
	})
}

// holdConn opens a connection through addr and returns it with the name
// of the echo backend that answered.
func holdConn(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	reply, err := exchangeLine(c, bufio.NewReader(c), "hold")
	if err != nil {
		c.Close()
		t.Fatalf("exchange through %s: %v", addr, err)
	}
	name, _, _ := strings.Cut(reply, ":")
	return c, name
}

// TestL4LeastConnections: a new connection goes to the target with the
// fewest open connections: with one held on each of two targets, closing
// the one on X sends the next connection to X, every time.
func TestL4LeastConnections(t *testing.T) {
	t.Parallel()
	a, b := newEchoBackend(t, "a"), newEchoBackend(t, "b")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: lc-in, address: %s, protocol: tcp}
l4_routes:
  - {name: lc, listeners: [lc-in], upstream: pool}
upstreams:
  - {name: pool, balance: least_connections, targets: [{url: "tcp://%s"}, {url: "tcp://%s"}]}
`, addr, a.addr, b.addr))
	active := `gatehouse_l4_active_connections{listener="lc-in",route="lc"}`
	first, firstName := holdConn(t, addr)
	second, secondName := holdConn(t, addr)
	if firstName == secondName {
		t.Fatalf("two connections both went to %s with the other target idle", firstName)
	}
	held := map[string]net.Conn{firstName: first, secondName: second}
	for i := range 8 {
		freed := []string{"a", "b"}[i%2]
		held[freed].Close()
		// The gateway must have seen the close before the next pick.
		if !g.waitGauge(active, 1, 10*time.Second) {
			t.Fatalf("round %d: active connections never dropped to 1:\n%s", i, grepLines(g.metrics(), "gatehouse_l4_active"))
		}
		c, name := holdConn(t, addr)
		if name != freed {
			t.Fatalf("round %d: new connection went to %s, want %s (the only target without an open connection)", i, name, freed)
		}
		held[freed] = c
	}
	for _, c := range held {
		c.Close()
	}
}

// TestL4MaxConnectionsPerTarget: a full target is skipped; with every
// target full the connection is closed and counted as no_target.
func TestL4MaxConnectionsPerTarget(t *testing.T) {
	t.Parallel()
	a, b := newEchoBackend(t, "a"), newEchoBackend(t, "b")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: cap-in, address: %s, protocol: tcp}
l4_routes:
  - {name: cap, listeners: [cap-in], upstream: pool}
upstreams:
  - {name: pool, balance: round_robin, max_connections_per_target: 2, targets: [{url: "tcp://%s"}, {url: "tcp://%s"}]}
`, addr, a.addr, b.addr))
	counts := map[string]int{}
	var held []net.Conn
	for range 4 {
		c, name := holdConn(t, addr)
		held = append(held, c)
		counts[name]++
	}
	if counts["a"] != 2 || counts["b"] != 2 {
		t.Fatalf("4 connections with a cap of 2 per target: %v, want 2 each", counts)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if reply, err := exchangeLine(c, bufio.NewReader(c), "over"); err == nil {
		t.Fatalf("a fifth connection was forwarded (%q) with both targets at their cap", reply)
	}
	c.Close()
	series := `gatehouse_l4_connections_total{listener="cap-in",result="no_target",route="cap",target="",upstream="pool"}`
	if m := g.waitMetric(series, 1, 10*time.Second); !strings.Contains(m, series+" 1") {
		t.Errorf("%s not 1:\n%s", series, grepLines(m, "gatehouse_l4_connections_total"))
	}
	held[0].Close()
	active := `gatehouse_l4_active_connections{listener="cap-in",route="cap"}`
	if !g.waitGauge(active, 3, 10*time.Second) {
		t.Fatalf("active connections never dropped to 3:\n%s", grepLines(g.metrics(), "gatehouse_l4_active"))
	}
	again, _ := holdConn(t, addr) // a slot is free again
	again.Close()
	for _, c := range held[1:] {
		c.Close()
	}
}

// TestL4HashOnSNI: hash on sni keeps each server name on one target (the
// connections are passed through, so the backend's TLS answers).
func TestL4HashOnSNI(t *testing.T) {
	t.Parallel()
	names := []string{"n1.hash.test", "n2.hash.test", "n3.hash.test", "n4.hash.test", "n5.hash.test", "n6.hash.test"}
	pki := newPKI(t, names...)
	x := newTLSNameBackend(t, "x", pki, names[0])
	y := newTLSNameBackend(t, "y", pki, names[0])
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: hash-in, address: %s, protocol: tcp}
l4_routes:
  - {name: h, listeners: [hash-in], match: {sni: ["*.hash.test"]}, upstream: pool}
upstreams:
  - {name: pool, balance: hash, hash: {on: sni}, targets: [{url: "tcp://%s"}, {url: "tcp://%s"}]}
`, addr, x.addr, y.addr))
	seen := map[string]bool{}
	for _, name := range names {
		var first string
		for i := range 5 {
			conn, _, err := tlsDial(addr, name, nil)
			if err != nil {
				t.Fatalf("SNI %s: %v", name, err)
			}
			hello, err := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if err != nil {
				t.Fatalf("SNI %s: no greeting: %v", name, err)
			}
			backend := strings.TrimSpace(hello)
			if i == 0 {
				first = backend
			} else if backend != first {
				t.Fatalf("SNI %s went to %s and then %s; hash on sni must keep a name on one target", name, first, backend)
			}
		}
		seen[first] = true
	}
	if len(seen) != 2 {
		t.Errorf("6 names all hashed to %v; expected both targets used", seen)
	}
}

// TestL4MixedListenerProxyProtocol: an https listener with passthrough
// routes and proxy_protocol reads the header once, in its front: a
// passed-through name routes by the header's source (client_ips), and a
// terminated name reaches the HTTP routes with that source as the client.
func TestL4MixedListenerProxyProtocol(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "web.mixpp.test", "pass.mixpp.test")
	pass := newTLSNameBackend(t, "pass", pki, "pass.mixpp.test")
	be := newBackend(t, "web")
	addr := freeAddr(t)
	web := pki.files["web.mixpp.test"]
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: edge
    address: %s
    protocol: https
    proxy_protocol: {trusted: [127.0.0.1/32], required: true}
    tls: {certificates: [{cert_file: %s, key_file: %s}]}
l4_routes:
  - {name: pass, listeners: [edge], match: {sni: [pass.mixpp.test], client_ips: [203.0.113.0/24]}, upstream: pass}
upstreams:
  - {name: pass, targets: [{url: "tcp://%s"}]}
  - {name: web, targets: [{url: "%s"}]}
routes:
  - {name: web, match: {hosts: [web.mixpp.test]}, backend: {upstream: web}}
`, addr, web[0], web[1], pass.addr, be.url))

	dialTLS := func(sni string) *tls.Conn {
		raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		writeProxyHeader(t, raw, 2, "203.0.113.9:41000")
		c := tls.Client(raw, &tls.Config{ServerName: sni, RootCAs: pki.pool})
		if err := c.Handshake(); err != nil {
			raw.Close()
			t.Fatalf("TLS to %s after a PROXY header: %v", sni, err)
		}
		return c
	}
	c := dialTLS("pass.mixpp.test")
	if cn := c.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "pass.mixpp.test" {
		t.Errorf("passthrough by the header's source: certificate for %q, want the backend's", cn)
	}
	c.Close()

	c = dialTLS("web.mixpp.test")
	defer c.Close()
	io.WriteString(c, "GET /mixed HTTP/1.1\r\nHost: web.mixpp.test\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("HTTP over the terminated name: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep echoReply
	if resp.StatusCode != 200 || json.Unmarshal(body, &rep) != nil {
		t.Fatalf("HTTP over the terminated name: %d %q", resp.StatusCode, body)
	}
	if got := rep.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "203.0.113.9" {
		t.Errorf("X-Forwarded-For at the HTTP backend: %q, want [203.0.113.9] (read once, by the front)", got)
	}
}

// TestL4ReloadSwapsRoutesAndListeners: a reload that points a running
// tcp listener's route at another upstream sends new connections there
// while an open one stays where it was (the server and its socket are
// kept); a reload that drops the listener stops accepting, and the open
// connection still works.
func TestL4ReloadSwapsRoutesAndListeners(t *testing.T) {
	t.Parallel()
	a, b := newEchoBackend(t, "a"), newEchoBackend(t, "b")
	addr, other := freeAddr(t), freeAddr(t)
	cfg := func(upstream string, withListener bool) string {
		l4 := fmt.Sprintf(`  - {name: r, listeners: [tcp-in], upstream: %s}
`, upstream)
		ls := fmt.Sprintf("  - {name: tcp-in, address: %s, protocol: tcp}\n", addr)
		if !withListener {
			ls, l4 = "", ""
		}
		return fmt.Sprintf(`
listeners:
%s  - {name: keep, address: %s, protocol: tcp}
reload: {watch: false}
l4_routes:
%s  - {name: k, listeners: [keep], upstream: ua}
upstreams:
  - {name: ua, targets: [{url: "tcp://%s"}]}
  - {name: ub, targets: [{url: "tcp://%s"}]}
`, ls, other, l4, a.addr, b.addr)
	}
	g := startGateway(t, cfg("ua", true))
	reload := func(yaml string) {
		t.Helper()
		n := g.countLog("configuration reloaded")
		g.rewrite(yaml)
		g.reload()
		if !waitFor(10*time.Second, func() bool { return g.countLog("configuration reloaded") > n }) {
			t.Fatalf("reload not applied:\n%s", tail(g.logs(), 2000))
		}
	}
	open, name := holdConn(t, addr)
	defer open.Close()
	if name != "a" {
		t.Fatalf("first connection went to %s, want a", name)
	}
	reload(cfg("ub", true))
	c, name := holdConn(t, addr)
	c.Close()
	if name != "b" {
		t.Errorf("after the route moved to ub a new connection went to %s", name)
	}
	br := bufio.NewReader(open)
	if reply, err := exchangeLine(open, br, "still"); err != nil || reply != "a:still" {
		t.Errorf("the open connection after the route changed: %q, %v; want a:still", reply, err)
	}
	reload(cfg("ub", false))
	if !waitFor(10*time.Second, func() bool { return dialRefused(addr) }) {
		t.Errorf("the dropped listener %s still accepts connections", addr)
	}
	if reply, err := exchangeLine(open, br, "after-drop"); err != nil || reply != "a:after-drop" {
		t.Errorf("the open connection after its listener was dropped: %q, %v; want a:after-drop", reply, err)
	}
	c, name = holdConn(t, other)
	c.Close()
	if name != "a" {
		t.Errorf("the kept listener's connection went to %s, want a", name)
	}
}
