package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestTLSSNICertificates serves two certificates on one https listener and
// checks the handshake picks by SNI, both verify against the test CA, and
// TLS 1.1 is refused.
func TestTLSSNICertificates(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "a.test", "b.test")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: secure
    address: %s
    protocol: https
    tls:
      certificates:
        - {cert_file: %s, key_file: %s}
        - {cert_file: %s, key_file: %s}
routes:
  - name: hello
    respond: {status: 200, body: tls-ok}
`, addr, pki.files["a.test"][0], pki.files["a.test"][1], pki.files["b.test"][0], pki.files["b.test"][1]))

	for _, name := range []string{"a.test", "b.test"} {
		conf := &tls.Config{ServerName: name, RootCAs: pki.pool}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
		if err != nil {
			t.Errorf("TLS handshake with SNI %s: %v", name, err)
			continue
		}
		st := conn.ConnectionState()
		conn.Close()
		if len(st.PeerCertificates) == 0 || !slices.Equal(st.PeerCertificates[0].DNSNames, []string{name}) {
			var got []string
			if len(st.PeerCertificates) > 0 {
				got = st.PeerCertificates[0].DNSNames
			}
			t.Errorf("SNI %s: server certificate DNS names %v, want [%s]", name, got, name)
		}
		if len(st.VerifiedChains) == 0 {
			t.Errorf("SNI %s: certificate not verified against the test CA", name)
		}
		// And HTTP over it.
		tr := &http.Transport{TLSClientConfig: conf}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			t.Errorf("GET over TLS with SNI %s: %v", name, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 200 || string(b) != "tls-ok" {
			t.Errorf("GET over TLS with SNI %s: %d %q, want 200 tls-ok", name, resp.StatusCode, b)
		}
	}

	// An unknown SNI name gets the first certificate (README: "else the first").
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "c.test", InsecureSkipVerify: true})
	if err != nil {
		t.Errorf("TLS handshake with unknown SNI c.test: %v", err)
	} else {
		got := conn.ConnectionState().PeerCertificates[0].DNSNames
		conn.Close()
		if !slices.Equal(got, []string{"a.test"}) {
			t.Errorf("unknown SNI c.test: certificate for %v, want the first one (a.test)", got)
		}
	}

	// TLS 1.1 is refused by the server (the client offers only 1.0-1.1).
	old := &tls.Config{ServerName: "a.test", RootCAs: pki.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	conn, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, old)
	if err == nil {
		v := conn.ConnectionState().Version
		conn.Close()
		t.Fatalf("TLS 1.1 handshake succeeded (version %#x); want it refused", v)
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("TLS 1.1 handshake failed with %q; want the server's protocol_version alert", err)
	}
}

// TestHTTP2 checks h2 over TLS (negotiated by ALPN), h1-only when a TLS
// listener sets http2: false, and h2c with prior knowledge on a plain
// listener with h2c: true, each proxied to a real backend.
func TestHTTP2(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "h2be")
	pki := newPKI(t, "a.test")
	tlsAddr, h1Addr, h2cAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: secure
    address: %[1]s
    protocol: https
    tls: {certificates: [{cert_file: %[4]s, key_file: %[5]s}]}
  - name: secure-h1
    address: %[2]s
    protocol: https
    http2: false
    tls: {certificates: [{cert_file: %[4]s, key_file: %[5]s}]}
  - name: cleartext
    address: %[3]s
    h2c: true
upstreams:
  - name: be
    targets: [{url: %[6]s}]
routes:
  - name: all
    backend: {upstream: be}
`, tlsAddr, h1Addr, h2cAddr, pki.files["a.test"][0], pki.files["a.test"][1], be.url))

	check := func(label string, c *http.Client, url, wantProto string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Errorf("%s: GET %s: %v", label, url, err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Proto != wantProto {
			t.Errorf("%s: response protocol %s, want %s", label, resp.Proto, wantProto)
		}
		var rep echoReply
		if resp.StatusCode != 200 || json.Unmarshal(b, &rep) != nil || rep.Path != "/h2/check" {
			t.Errorf("%s: got %d %q, want 200 and the backend's echo of /h2/check", label, resp.StatusCode, b)
		}
	}

	conf := &tls.Config{ServerName: "a.test", RootCAs: pki.pool}
	trTLS := &http.Transport{TLSClientConfig: conf, ForceAttemptHTTP2: true}
	defer trTLS.CloseIdleConnections()
	check("h2 over TLS", &http.Client{Transport: trTLS, Timeout: 10 * time.Second}, "https://"+tlsAddr+"/h2/check", "HTTP/2.0")

	trH1 := &http.Transport{TLSClientConfig: conf.Clone(), ForceAttemptHTTP2: true}
	defer trH1.CloseIdleConnections()
	check("TLS listener with http2: false", &http.Client{Transport: trH1, Timeout: 10 * time.Second}, "https://"+h1Addr+"/h2/check", "HTTP/1.1")

	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP1(false)
	trH2C := &http.Transport{Protocols: &p}
	defer trH2C.CloseIdleConnections()
	check("h2c prior knowledge", &http.Client{Transport: trH2C, Timeout: 10 * time.Second}, "http://"+h2cAddr+"/h2/check", "HTTP/2.0")
}

// TestWebSocketEcho proxies a WebSocket (HTTP/1.1 Upgrade) to a real
// coder/websocket echo server and exchanges several messages both ways.
func TestWebSocketEcho(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "wsbe")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: ws
    backend: {upstream: be}
    timeout: 0s
`, addr, be.url))

	ctx := ctxT(t, 20*time.Second)
	c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("websocket dial through the gateway: %v (HTTP status %d)", err, status)
	}
	defer c.CloseNow()
	typ, msg, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(msg) != "hello from wsbe" {
		t.Fatalf("greeting: got %v %q %v, want text \"hello from wsbe\"", typ, msg, err)
	}
	for i := 0; i < 10; i++ {
		typ := websocket.MessageText
		payload := []byte(fmt.Sprintf("message %d", i))
		if i%2 == 1 {
			typ = websocket.MessageBinary
			payload = append([]byte{0, 1, 2, 0xff}, make([]byte, 1000*i)...)
		}
		if err := c.Write(ctx, typ, payload); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		gotTyp, got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read echo %d: %v", i, err)
		}
		if gotTyp != typ || string(got) != "echo:"+string(payload) {
			t.Fatalf("echo %d: got %v (%d bytes), want %v (%d bytes)", i, gotTyp, len(got), typ, len("echo:")+len(payload))
		}
	}
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Errorf("close handshake through the gateway: %v", err)
	}
}

// TestGRPCUnary: grpc-go client → gateway h2c listener → upstream with
// protocol http2 → grpc-go health server. Both a success and an error
// status (carried in trailers) must arrive intact.
func TestGRPCUnary(t *testing.T) {
	t.Parallel()
	gb := newGRPCBackend(t)
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: grpc
    address: %s
    h2c: true
upstreams:
  - name: health
    protocol: http2
    targets: [{url: http://%s}]
routes:
  - name: grpc-health
    match: {path: {prefix: /grpc.health.v1.Health}}
    backend: {upstream: health}
`, addr, gb.addr))

	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx := ctxT(t, 20*time.Second)

	for _, svc := range []string{"", "gatehouse.test"} {
		res, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("Check(%q) through the gateway: %v", svc, err)
		}
		if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check(%q): status %v, want SERVING", svc, res.GetStatus())
		}
	}

	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	st, _ := status.FromError(err)
	if st.Code() != codes.NotFound {
		t.Errorf("Check(unknown service): got %v (%v), want code NotFound with the server's message", st.Code(), err)
	} else if !strings.Contains(st.Message(), "unknown service") {
		t.Errorf("Check(unknown service): message %q, want the health server's \"unknown service\"", st.Message())
	}
}

// TestSSEStreaming checks that server-sent events are flushed through as
// they come: event 1 must reach the client while the backend is still
// holding event 2 back (it waits for the test to read event 1 first).
func TestSSEStreaming(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "ssebe")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: events
    backend: {upstream: be}
`, addr, be.url))

	c := httpClient(t)
	resp, err := c.Get("http://" + addr + "/sse")
	if err != nil {
		t.Fatalf("GET /sse: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET /sse: %d Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 4)
	go func() {
		defer close(events)
		br := bufio.NewReader(resp.Body)
		var ev strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\n" {
				events <- ev.String()
				ev.Reset()
				continue
			}
			ev.WriteString(line)
		}
	}()
	select {
	case ev, ok := <-events:
		if !ok || !strings.Contains(ev, "data: first") {
			t.Fatalf("first event: got %q (stream open: %v)", ev, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event 1 did not reach the client within 10s while the backend held event 2: the gateway buffers the stream")
	}
	be.release(be.sseRelease)
	select {
	case ev, ok := <-events:
		if !ok || !strings.Contains(ev, "data: second") {
			t.Fatalf("second event: got %q (stream open: %v)", ev, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event 2 did not arrive within 10s of its release")
	}
}
