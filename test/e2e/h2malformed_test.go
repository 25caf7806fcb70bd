package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/wiretest"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawOrigin is an HTTP/1.1 origin that records every byte it receives and
// answers each request (no body expected) with 200 "ok".
type rawOrigin struct {
	ln   net.Listener
	mu   sync.Mutex
	seen bytes.Buffer
	reqs int
}

func newRawOrigin(t *testing.T) *rawOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &rawOrigin{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				go func() { <-t.Context().Done(); c.Close() }()
				br := bufio.NewReader(c)
				for {
					head, err := wiretest.ReadHead(br)
					if err != nil {
						return
					}
					o.mu.Lock()
					o.seen.WriteString(head)
					o.reqs++
					o.mu.Unlock()
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	return o
}

func (o *rawOrigin) received() (string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen.String(), o.reqs
}

// TestHTTP2ConnectionSpecificHeadersRefused sends, over HTTP/2 on a TLS and
// an h2c listener, requests carrying each connection-specific field (RFC
// 9113 §8.2.2) to a route proxied to an HTTP/1.1 origin. Each must end in
// RST_STREAM(PROTOCOL_ERROR) on its stream (§8.1.1), the connection must
// stay usable, and the origin must never see the fields.
func TestHTTP2ConnectionSpecificHeadersRefused(t *testing.T) {
	t.Parallel()
	origin := newRawOrigin(t)
	pki := newPKI(t, "a.test")
	tlsAddr, h2cAddr := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: secure
    address: %s
    protocol: https
    tls: {certificates: [{cert_file: %s, key_file: %s}]}
  - name: cleartext
    address: %s
    h2c: true
upstreams:
  - name: origin
    targets: [{url: "http://%s"}]
routes:
  - name: all
    backend: {upstream: origin}
`, tlsAddr, pki.files["a.test"][0], pki.files["a.test"][1], h2cAddr, origin.ln.Addr()))

	const marker = "marker-7f3a"
	bad := [][2]string{
		{"connection", "keep-alive, " + marker}, {"keep-alive", marker}, {"proxy-connection", marker},
		{"transfer-encoding", marker}, {"upgrade", marker}, {"te", marker},
	}
	dial := map[string]func() (net.Conn, error){
		"tls": func() (net.Conn, error) {
			return tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tlsAddr,
				&tls.Config{ServerName: "a.test", RootCAs: pki.pool, NextProtos: []string{"h2"}})
		},
		"h2c": func() (net.Conn, error) { return net.DialTimeout("tcp", h2cAddr, 5*time.Second) },
	}
	for _, name := range []string{"tls", "h2c"} {
		c, err := dial[name]()
		if err != nil {
			t.Fatalf("%s: dial: %v", name, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		fr.WriteSettings()
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		request := func(sid uint32, extra ...string) {
			hb.Reset()
			kv := append([]string{":method", "GET", ":scheme", "https", ":path", "/h2/" + name, ":authority", "a.test"}, extra...)
			for i := 0; i < len(kv); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
			}
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
				t.Fatalf("%s: write HEADERS: %v", name, err)
			}
		}
		// What arrives for a stream: an RST_STREAM code, or a status.
		await := func(sid uint32) string {
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					return "read error: " + err.Error()
				}
				switch f := f.(type) {
				case *http2.SettingsFrame:
					if !f.IsAck() {
						fr.WriteSettingsAck()
					}
				case *http2.GoAwayFrame:
					return "GOAWAY " + f.ErrCode.String()
				case *http2.RSTStreamFrame:
					if f.StreamID == sid {
						return "RST_STREAM " + f.ErrCode.String()
					}
				case *http2.MetaHeadersFrame:
					if f.StreamID == sid {
						return "status " + f.PseudoValue("status")
					}
				}
			}
		}
		sid := uint32(1)
		for _, h := range bad {
			request(sid, h[0], h[1])
			if got := await(sid); got != "RST_STREAM PROTOCOL_ERROR" {
				t.Errorf("%s: request with %s: %s, want RST_STREAM PROTOCOL_ERROR", name, h[0], got)
			}
			sid += 2
		}
		// The connection still works, and its HPACK state is intact.
		request(sid, "te", "trailers", "x-check", "fine")
		if got := await(sid); got != "status 200" {
			t.Errorf("%s: valid request after the refused ones: %s, want status 200", name, got)
		}
	}
	seen, n := origin.received()
	if n != 2 {
		t.Errorf("origin received %d requests, want 2 (the valid ones)", n)
	}
	for _, line := range strings.Split(strings.ToLower(seen), "\r\n") {
		name, _, _ := strings.Cut(line, ":")
		switch {
		case strings.Contains(line, marker):
			t.Errorf("origin saw a refused field: %q", line)
		case name == "keep-alive" || name == "proxy-connection" || name == "upgrade" || name == "transfer-encoding":
			t.Errorf("origin saw a connection-specific field: %q", line)
		}
	}
}
