package proxy

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func TestHopByHopRequestHeaders(t *testing.T) {
	up, got := recorder(t)
	s, _ := infoFront(t, Options{Pool: newPool(t, up.URL)}, reqinfo.Info{RequestID: "rid-1"})
	res, _, _ := raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\n"+
		"Connection: keep-alive, X-Custom, x-forwarded-for, X-Request-Id, X-Forwarded-Proto, x-forwarded-host\r\n"+
		"X-Custom: hop\r\nX-Kept: end-to-end\r\n"+
		"Keep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"+
		"Proxy-Authenticate: x\r\nTE: trailers, deflate\r\nTrailer: X-T\r\nUpgrade: websocket\r\n\r\n")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	c := <-got
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization",
		"Proxy-Authenticate", "Trailer", "Upgrade", "X-Custom"} {
		if v, ok := c.header[k]; ok {
			t.Errorf("%s forwarded: %q", k, v)
		}
	}
	want := map[string]string{
		"X-Kept": "end-to-end", "Te": "trailers",
		// The proxy's own headers survive being named in Connection.
		"X-Forwarded-For": "127.0.0.1", "X-Request-Id": "rid-1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "h",
	}
	for k, v := range want {
		if got := c.header[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestTEOtherThanTrailersDropped(t *testing.T) {
	up, got := recorder(t)
	s := front(t, Options{Pool: newPool(t, up.URL)})
	raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\nTE: gzip\r\n\r\n")
	if c := <-got; c.header["Te"] != nil {
		t.Fatalf("TE forwarded: %q", c.header["Te"])
	}
}

func TestHopByHopResponseHeaders(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Up-Hop")
		h.Set("X-Up-Hop", "1")
		h.Set("X-Up-Kept", "1")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Proxy-Connection", "keep-alive")
		h.Set("Upgrade", "h2c")
		io.WriteString(w, "body")
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	res, _, _ := raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	for _, k := range []string{"X-Up-Hop", "Keep-Alive", "Proxy-Authenticate", "Proxy-Connection", "Upgrade", "Connection"} {
		if v, ok := res.Header[k]; ok {
			t.Errorf("%s relayed: %q", k, v)
		}
	}
	if res.Header.Get("X-Up-Kept") != "1" {
		t.Errorf("end-to-end header lost: %v", res.Header)
	}
}

func TestResponseRequestIDIsTheGateways(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "upstream-id")
		w.Header().Set("Vary", "Accept")
	})
	p := New(Options{Pool: newPool(t, up.URL), Transport: testTransport(t)})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "gateway-id")
		w.Header().Set("Vary", "Origin")
		p.ServeHTTP(w, r)
	}))
	defer s.Close()
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header["X-Request-Id"]; len(got) != 1 || got[0] != "gateway-id" {
		t.Fatalf("X-Request-Id %q", got)
	}
	if got := res.Header["Vary"]; len(got) != 2 {
		t.Fatalf("Vary %q: both values expected", got)
	}
}

func TestForwardedHeaders(t *testing.T) {
	up, got := recorder(t)
	spoof := "GET / HTTP/1.1\r\nHost: public.example\r\nX-Forwarded-For: 10.9.9.9, 10.8.8.8\r\n" +
		"X-Forwarded-Proto: https\r\nX-Forwarded-Host: orig.example\r\nForwarded: for=10.9.9.9\r\n\r\n"

	t.Run("untrusted peer", func(t *testing.T) {
		s, _ := infoFront(t, Options{Pool: newPool(t, up.URL)}, reqinfo.Info{PeerTrusted: false})
		raw(t, hostOf(s), spoof)
		c := <-got
		want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "public.example"}
		for k, v := range want {
			if got := c.header[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if f, ok := c.header["Forwarded"]; ok {
			t.Errorf("untrusted Forwarded passed: %q", f)
		}
	})
	t.Run("trusted peer", func(t *testing.T) {
		s, _ := infoFront(t, Options{Pool: newPool(t, up.URL)}, reqinfo.Info{PeerTrusted: true})
		raw(t, hostOf(s), spoof)
		c := <-got
		want := map[string]string{"X-Forwarded-For": "10.9.9.9, 10.8.8.8, 127.0.0.1", "X-Forwarded-Proto": "https",
			"X-Forwarded-Host": "orig.example", "Forwarded": "for=10.9.9.9"}
		for k, v := range want {
			if got := c.header[k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("trusted peer, several XFF lines", func(t *testing.T) {
		s, _ := infoFront(t, Options{Pool: newPool(t, up.URL)}, reqinfo.Info{PeerTrusted: true})
		raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-For: 10.2.2.2\r\n\r\n")
		if c := <-got; c.header.Get("X-Forwarded-For") != "10.1.1.1, 10.2.2.2, 127.0.0.1" || c.header.Get("X-Forwarded-Proto") != "http" {
			t.Errorf("XFF %q XFP %q", c.header["X-Forwarded-For"], c.header["X-Forwarded-Proto"])
		}
	})
	t.Run("TLS client", func(t *testing.T) {
		p := New(Options{Pool: newPool(t, up.URL), Transport: testTransport(t)})
		s := httptest.NewTLSServer(p)
		defer s.Close()
		res, err := s.Client().Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if c := <-got; c.header.Get("X-Forwarded-Proto") != "https" {
			t.Errorf("X-Forwarded-Proto %q", c.header["X-Forwarded-Proto"])
		}
	})
}

func TestNoHeadersAdded(t *testing.T) {
	// DisableCompression: the transport must not add Accept-Encoding (and
	// then transparently gunzip), nor its own User-Agent.
	up, got := recorder(t)
	s := front(t, Options{Pool: newPool(t, up.URL)})
	raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	c := <-got
	for _, k := range []string{"Accept-Encoding", "User-Agent"} {
		if v, ok := c.header[k]; ok {
			t.Errorf("%s added: %q", k, v)
		}
	}
	raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\nAccept-Encoding: br\r\nUser-Agent: curl/8\r\n\r\n")
	if c := <-got; c.header.Get("Accept-Encoding") != "br" || c.header.Get("User-Agent") != "curl/8" {
		t.Errorf("client headers not forwarded: %v", c.header)
	}
}

func TestCompressedResponsePassesThrough(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write([]byte("\x1f\x8bnot really gzip"))
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	tr := &http.Transport{DisableCompression: true, TLSClientConfig: &tls.Config{}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", s.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "\x1f\x8bnot really gzip" || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("body %q, headers %v", b, res.Header)
	}
}
