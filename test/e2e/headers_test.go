package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHopByHopAndForwardedHeaders checks what crosses the gateway: request
// hop-by-hop headers (and those named in Connection) are dropped, but a
// client cannot make the gateway drop X-Forwarded-For or X-Request-Id by
// naming them in Connection; X-Forwarded-* and X-Request-Id from an
// untrusted client are replaced, from a trusted proxy they are kept and
// X-Forwarded-For extended; response hop-by-hop headers are dropped too.
func TestHopByHopAndForwardedHeaders(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "hdrbe")
	addr, trustedAddr := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: edge
    address: %s
  - name: behind-lb
    address: %s
    trusted_proxies: [127.0.0.1/32]
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: echo
    backend: {upstream: be}
`, addr, trustedAddr, be.url))

	send := func(target, raw string) (*http.Response, echoReply) {
		t.Helper()
		resp, body := rawExchange(t, target, raw)
		var rep echoReply
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &rep) != nil {
			t.Fatalf("request %q: got %d %q, want 200 and the backend echo", firstLine(raw), resp.StatusCode, body)
		}
		return resp, rep
	}

	// 1. Hop-by-hop request headers, with Connection naming the forwarding headers.
	resp, rep := send(addr, "GET /echo HTTP/1.1\r\n"+
		"Host: hop.example.test\r\n"+
		"Connection: X-Foo, X-Forwarded-For, X-Request-Id\r\n"+
		"X-Foo: 1\r\n"+
		"Keep-Alive: x\r\n"+
		"Proxy-Connection: y\r\n"+
		"Upgrade: h2c\r\n"+
		"X-End-To-End: yes\r\n"+
		"\r\n")
	for _, h := range []string{"X-Foo", "Keep-Alive", "Proxy-Connection", "Upgrade"} {
		if v, ok := rep.Header[h]; ok {
			t.Errorf("hop-by-hop request header %s: %q reached the backend", h, v)
		}
	}
	if v := rep.Header.Get("Connection"); strings.Contains(strings.ToLower(v), "x-foo") {
		t.Errorf("the client's Connection header %q reached the backend", v)
	}
	if got := rep.Header.Get("X-End-To-End"); got != "yes" {
		t.Errorf("end-to-end header X-End-To-End: backend saw %q, want yes", got)
	}
	if got := rep.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("X-Forwarded-For at the backend: %q, want [127.0.0.1] (a client must not be able to strip it via Connection)", got)
	}
	if got := rep.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("X-Forwarded-Proto at the backend: %q, want http", got)
	}
	if got := rep.Header.Get("X-Forwarded-Host"); got != "hop.example.test" {
		t.Errorf("X-Forwarded-Host at the backend: %q, want hop.example.test", got)
	}
	if rid := rep.Header.Get("X-Request-Id"); rid == "" {
		t.Errorf("no X-Request-Id at the backend (a client must not be able to strip it via Connection)")
	} else if rid != resp.Header.Get("X-Request-Id") {
		t.Errorf("X-Request-Id: backend saw %q, client got %q; want the same id for correlation", rid, resp.Header.Get("X-Request-Id"))
	}

	// 2. An untrusted client's forwarding headers are replaced, not believed.
	resp, rep = send(addr, "GET /echo HTTP/1.1\r\n"+
		"Host: real.example.test\r\n"+
		"X-Forwarded-For: 1.2.3.4\r\n"+
		"X-Forwarded-Proto: https\r\n"+
		"X-Forwarded-Host: spoofed.example.test\r\n"+
		"X-Request-Id: client-chosen-id\r\n"+
		"Connection: close\r\n\r\n")
	if got := rep.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("untrusted client sent X-Forwarded-For 1.2.3.4: backend saw %q, want exactly [127.0.0.1]", got)
	}
	if got := rep.Header.Get("X-Forwarded-Proto"); got != "http" {
		t.Errorf("untrusted client sent X-Forwarded-Proto https: backend saw %q, want http", got)
	}
	if got := rep.Header.Get("X-Forwarded-Host"); got != "real.example.test" {
		t.Errorf("untrusted client sent X-Forwarded-Host spoofed.example.test: backend saw %q, want real.example.test", got)
	}
	if got := rep.Header.Get("X-Request-Id"); got == "client-chosen-id" || got == "" {
		t.Errorf("untrusted client sent X-Request-Id client-chosen-id: backend saw %q, want a gateway-made id", got)
	}
	if got := resp.Header.Get("X-Request-Id"); got == "client-chosen-id" {
		t.Errorf("untrusted client's X-Request-Id was echoed to the client: %q", got)
	}

	// 3. A trusted proxy's headers are kept and X-Forwarded-For extended.
	resp, rep = send(trustedAddr, "GET /echo HTTP/1.1\r\n"+
		"Host: real.example.test\r\n"+
		"X-Forwarded-For: 1.2.3.4\r\n"+
		"X-Forwarded-Proto: https\r\n"+
		"X-Forwarded-Host: public.example.test\r\n"+
		"X-Request-Id: lb-assigned-id-42\r\n"+
		"Connection: close\r\n\r\n")
	if got := strings.Join(rep.Header.Values("X-Forwarded-For"), ", "); got != "1.2.3.4, 127.0.0.1" {
		t.Errorf("trusted proxy sent X-Forwarded-For 1.2.3.4: backend saw %q, want \"1.2.3.4, 127.0.0.1\"", got)
	}
	if got := rep.Header.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("trusted proxy sent X-Forwarded-Proto https: backend saw %q, want https", got)
	}
	if got := rep.Header.Get("X-Forwarded-Host"); got != "public.example.test" {
		t.Errorf("trusted proxy sent X-Forwarded-Host public.example.test: backend saw %q, want it kept", got)
	}
	if got := rep.Header.Get("X-Request-Id"); got != "lb-assigned-id-42" {
		t.Errorf("trusted proxy sent X-Request-Id lb-assigned-id-42: backend saw %q, want it kept", got)
	}
	if got := resp.Header.Get("X-Request-Id"); got != "lb-assigned-id-42" {
		t.Errorf("trusted proxy sent X-Request-Id lb-assigned-id-42: response carries %q, want it kept", got)
	}

	// 4. Response hop-by-hop headers stop at the gateway. First make sure
	// the backend really sends them (so this part can fail).
	c := httpClient(t)
	direct, _ := get(t, c, be.url+"/hop", "")
	if direct.Header.Get("X-Backend-Hop") == "" || direct.Header.Get("Keep-Alive") == "" || direct.Header.Get("Proxy-Connection") == "" {
		t.Fatalf("test setup: the backend's /hop response lacks its hop-by-hop headers: %v", direct.Header)
	}
	via, body := get(t, c, "http://"+addr+"/hop", "")
	if via.StatusCode != 200 || body != "hop\n" {
		t.Fatalf("GET /hop via the gateway: %d %q", via.StatusCode, body)
	}
	for _, h := range []string{"X-Backend-Hop", "Keep-Alive", "Proxy-Connection"} {
		if v, ok := via.Header[h]; ok {
			t.Errorf("response hop-by-hop header %s: %q reached the client", h, v)
		}
	}
	if v := via.Header.Get("Connection"); strings.Contains(strings.ToLower(v), "x-backend-hop") {
		t.Errorf("the backend's Connection header %q reached the client", v)
	}
	if via.Header.Get("X-End-To-End") != "kept" {
		t.Errorf("end-to-end response header X-End-To-End lost: %v", via.Header)
	}
}

// TestRequestSmuggling sends ambiguous framings over a raw socket. A
// request with both Content-Length and Transfer-Encoding must be refused
// (400) or, if handled by its chunked framing, be followed by closing the
// connection (RFC 9112 §6.1), so bytes after it are never taken as a
// second request: the backend must never see the smuggled request.
// A malformed chunk size is a 400.
func TestRequestSmuggling(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "smugglebe")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: all
    backend: {upstream: be}
`, addr, be.url))

	// exchange writes raw and reads every response the gateway sends
	// before it closes the connection (or 3 s of silence).
	exchange := func(raw string) (statuses []int, closed bool) {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		for len(statuses) < 4 {
			conn.SetReadDeadline(time.Now().Add(3 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return statuses, false
				}
				return statuses, true // EOF or reset: closed
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		return statuses, false
	}

	const smuggledTECL = "GET /smuggled-tecl HTTP/1.1\r\nHost: s.test\r\n\r\n"
	cases := []struct {
		name string
		raw  string
	}{
		{"CL.TE", "POST /first HTTP/1.1\r\nHost: s.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\n\r\nGET /smuggled-clte HTTP/1.1\r\nHost: s.test\r\n\r\n"},
		{"TE.CL", "POST /first HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggledTECL), smuggledTECL)},
	}
	for _, k := range cases {
		statuses, closed := exchange(k.raw)
		t.Logf("%s: responses %v, connection closed by the gateway: %v", k.name, statuses, closed)
		switch {
		case len(statuses) == 0:
			t.Errorf("%s: no response at all (closed=%v); want 400 or a response followed by close", k.name, closed)
		case statuses[0] == 400:
			// refused: fine
		case statuses[0] >= 200 && statuses[0] < 300:
			if len(statuses) > 1 || !closed {
				t.Errorf("%s: both Content-Length and Transfer-Encoding: got responses %v, connection closed after the first: %v; "+
					"want 400, or one response and the connection closed (RFC 9112 §6.1)", k.name, statuses, closed && len(statuses) == 1)
			}
		default:
			t.Errorf("%s: got responses %v, want 400 or 2xx-then-close", k.name, statuses)
		}
	}
	for _, r := range be.requests() {
		if strings.Contains(r.RequestURI, "smuggled") {
			t.Errorf("the backend received a smuggled request: %s %s", r.Method, r.RequestURI)
		}
	}

	// Malformed chunk size.
	for _, raw := range []string{
		"POST /bad-chunk HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
		"POST /bad-chunk HTTP/1.1\r\nHost: s.test\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
	} {
		statuses, _ := exchange(raw)
		if len(statuses) == 0 || statuses[0] != 400 {
			t.Errorf("malformed chunk size %q: got responses %v, want 400", strings.SplitN(raw, "\r\n\r\n", 2)[1][:4], statuses)
		}
	}

	// Conflicting Content-Length values.
	statuses, _ := exchange("POST /dup-cl HTTP/1.1\r\nHost: s.test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
	if len(statuses) == 0 || statuses[0] != 400 {
		t.Errorf("two different Content-Length values: got responses %v, want 400", statuses)
	}
	for _, r := range be.requests() {
		if r.RequestURI == "/dup-cl" {
			t.Errorf("the backend received the request with conflicting Content-Length values")
		}
	}
}
