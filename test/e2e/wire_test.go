package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/wiretest"
)

// What the gateway puts on the upstream wire, and what it relays back
// besides the final response, for clients on each listener kind: plain
// HTTP/1.1 (Gatehouse's own server), HTTP/2 over TLS and h2c.

// wireListeners is the listener section shared by the tests below: web
// (HTTP/1.1), secure (TLS, h2 by ALPN) and clear (h2c).
func wireListeners(web, secure, clear string, pki *testPKI) string {
	return fmt.Sprintf(`
listeners:
  - name: web
    address: %s
  - name: secure
    address: %s
    protocol: https
    tls: {certificates: [{cert_file: %s, key_file: %s}]}
  - name: clear
    address: %s
    h2c: true
`, web, secure, pki.files["a.test"][0], pki.files["a.test"][1], clear)
}

// wireClients returns an HTTP/2 client for the TLS listener and one for
// the h2c listener. Neither sends Accept-Encoding.
func wireClients(t *testing.T, pki *testPKI) (h2, h2c *http.Client) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "a.test", RootCAs: pki.pool}, ForceAttemptHTTP2: true, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	trc := &http.Transport{Protocols: &p, DisableCompression: true}
	t.Cleanup(trc.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, &http.Client{Transport: trc, Timeout: 10 * time.Second}
}

// TestAbsentHeadersStayAbsentOnTheWire: a request without User-Agent,
// Accept-Encoding and the like reaches the origin without them, and with
// no empty field, from every listener kind (issue 9, part 4).
func TestAbsentHeadersStayAbsentOnTheWire(t *testing.T) {
	t.Parallel()
	origin, heads := wiretest.RecordingOrigin(t)
	pki := newPKI(t, "a.test")
	web, secure, clear := freeAddr(t), freeAddr(t), freeAddr(t)
	startGateway(t, wireListeners(web, secure, clear, pki)+fmt.Sprintf(`
upstreams:
  - name: rec
    targets: [{url: %s}]
routes:
  - name: all
    backend: {upstream: rec}
`, origin))
	next := func() string {
		select {
		case h := <-heads:
			return h
		case <-time.After(10 * time.Second):
			t.Fatal("the origin got no request")
			return ""
		}
	}
	check := func(label, head string) {
		t.Helper()
		for _, bad := range wiretest.UnwantedFields(head, "User-Agent", "Accept-Encoding", "Accept", "Date",
			"Content-Length", "Transfer-Encoding", "Te", "Expect", "Connection") {
			t.Errorf("%s: sent upstream: %s", label, bad)
		}
	}
	resp, _ := rawExchange(t, web, "GET /a HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("h1: status %d", resp.StatusCode)
	}
	check("HTTP/1.1 listener", next())

	h2, h2c := wireClients(t, pki)
	for label, c := range map[string]*http.Client{"h2 over TLS": h2, "h2c": h2c} {
		url := "https://" + secure + "/a"
		if c == h2c {
			url = "http://" + clear + "/a"
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header["User-Agent"] = nil // Go's client sends none
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
			t.Fatalf("%s: %s %d", label, resp.Proto, resp.StatusCode)
		}
		check(label, next())
	}
}

// TestEarlyHintsRelayed: the origin's 103 Early Hints (with its Link
// fields) reaches clients on the HTTP/1.1 and the HTTP/2 listeners before
// the final 200, which does not repeat the hints.
func TestEarlyHintsRelayed(t *testing.T) {
	t.Parallel()
	origin := newHintsOrigin(t)
	pki := newPKI(t, "a.test")
	web, secure, clear := freeAddr(t), freeAddr(t), freeAddr(t)
	startGateway(t, wireListeners(web, secure, clear, pki)+fmt.Sprintf(`
upstreams:
  - name: hints
    targets: [{url: %s}]
routes:
  - name: all
    backend: {upstream: hints}
`, origin))
	h1 := httpClient(t)
	h2, h2c := wireClients(t, pki)
	for _, tc := range []struct {
		label string
		c     *http.Client
		url   string
		proto int
	}{
		{"HTTP/1.1 listener", h1, "http://" + web + "/page", 1},
		{"h2 over TLS", h2, "https://" + secure + "/page", 2},
		{"h2c", h2c, "http://" + clear + "/page", 2},
	} {
		var hints []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, fmt.Sprintf("%d %q", code, h["Link"]))
			return nil
		}}
		req, _ := http.NewRequest("GET", tc.url, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		resp, err := tc.c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.label, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != tc.proto || resp.StatusCode != 200 || string(b) != "page" || resp.Header.Get("Link") != "" {
			t.Errorf("%s: final %s %d %q, Link %q", tc.label, resp.Proto, resp.StatusCode, b, resp.Header["Link"])
		}
		want := `[103 ["</app.css>; rel=preload; as=style" "</app.js>; rel=preload; as=script"]]`
		if got := fmt.Sprint(hints); got != want {
			t.Errorf("%s: interim responses %s, want %s", tc.label, got, want)
		}
	}
}

// newHintsOrigin answers every request with a 103 carrying two Link
// fields, then 200 "page".
func newHintsOrigin(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Link"] = []string{"</app.css>; rel=preload; as=style", "</app.js>; rel=preload; as=script"}
		w.WriteHeader(http.StatusEarlyHints)
		delete(w.Header(), "Link")
		io.WriteString(w, "page")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
