package action

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRedirectLocation(t *testing.T) {
	cases := []struct {
		name string
		cfg  RedirectConfig
		url  string
		tls  bool
		want string
	}{
		{"to https keeps host, drops port", RedirectConfig{Scheme: "https", Status: 301}, "http://example.com:8080/a?x=1", false, "https://example.com/a?x=1"},
		{"same scheme keeps port", RedirectConfig{Path: "/new", Status: 302}, "http://example.com:8080/old", false, "http://example.com:8080/new"},
		{"explicit host and port", RedirectConfig{Host: "other.test", Port: 8443, Scheme: "https", Status: 308}, "http://example.com/p", false, "https://other.test:8443/p"},
		{"tls request default scheme", RedirectConfig{Host: "x.test", Status: 302}, "https://example.com/p", true, "https://x.test/p"},
		{"well-known port elided", RedirectConfig{Port: 443, Scheme: "https", Status: 302}, "http://example.com/p", false, "https://example.com/p"},
		{"zero status is the default", RedirectConfig{Path: "/n"}, "http://example.com/p", false, "http://example.com/n"},
		// ReplacePrefixMatch (conformance httproute-redirect-path).
		{"prefix replaced", RedirectConfig{PrefixEdit: true, PrefixTo: "/replacement-prefix", Prefixes: []string{"/original-prefix"}, Status: 302},
			"http://example.com/original-prefix/lemon?x=1", false, "http://example.com/replacement-prefix/lemon?x=1"},
		{"prefix replaced whole", RedirectConfig{Host: "example.org", PrefixEdit: true, PrefixTo: "/replacement-prefix", Prefixes: []string{"/path-and-host"}, Status: 302},
			"http://example.com/path-and-host", false, "http://example.org/replacement-prefix"},
		{"prefix stripped", RedirectConfig{PrefixEdit: true, PrefixTo: "/", Prefixes: []string{"/old"}, Status: 302},
			"http://example.com/old/x", false, "http://example.com/x"},
		// Port rules (conformance httproute-redirect-port-and-scheme): no
		// scheme and no port keeps the listener port the client addressed;
		// a scheme without port takes the scheme's well-known port, which
		// is left out of Location; so is 80 for http and 443 for https.
		{"same scheme on 8080 keeps 8080", RedirectConfig{Host: "example.org", Status: 302}, "http://gw:8080/p", false, "http://example.org:8080/p"},
		{"port 80 on 8080 listener", RedirectConfig{Host: "example.org", Port: 80, Status: 302}, "http://gw:8080/p", false, "http://example.org/p"},
		{"https without port from 8080", RedirectConfig{Host: "example.org", Scheme: "https", Status: 302}, "http://gw:8080/p", false, "https://example.org/p"},
		{"https port 8443", RedirectConfig{Host: "example.org", Scheme: "https", Port: 8443, Status: 302}, "http://gw/p", false, "https://example.org:8443/p"},
		{"tls listener port 443 elided", RedirectConfig{Host: "example.org", Port: 443, Status: 302}, "https://example.org/p", true, "https://example.org/p"},
		{"tls listener to http without port", RedirectConfig{Host: "example.org", Scheme: "http", Status: 302}, "https://example.org/p", true, "http://example.org/p"},
		{"tls listener to http 8080", RedirectConfig{Host: "example.org", Scheme: "http", Port: 8080, Status: 302}, "https://example.org/p", true, "http://example.org:8080/p"},
		{"port only", RedirectConfig{Port: 8083, Status: 302}, "http://gw/port", false, "http://gw:8083/port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.url, nil)
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			NewRedirect(c.cfg).ServeHTTP(rec, r)
			want := c.cfg.Status
			if want == 0 {
				want = DefaultRedirectStatus
			}
			if rec.Code != want || rec.Header().Get("Location") != c.want {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), want, c.want)
			}
		})
	}
}

func TestRespond(t *testing.T) {
	h := NewRespond(RespondConfig{Status: 201, Headers: map[string]string{"X-Demo": "a"}, Body: "hi"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 201 || rec.Body.String() != "hi" || rec.Header().Get("X-Demo") != "a" || rec.Header().Get("Content-Length") != "2" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/", nil))
	if rec.Body.Len() != 0 {
		t.Fatal("HEAD got a body")
	}
	rec = httptest.NewRecorder()
	NewRespond(RespondConfig{Status: 204, Body: "x"}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 204 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "" {
		t.Fatalf("204: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	rec = httptest.NewRecorder()
	NewRespond(RespondConfig{}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != DefaultRespondStatus {
		t.Fatalf("zero config: %d", rec.Code)
	}
}

// TestRespondReadsRequestFirst: respond answers once the request body is
// read (bounded), so a body that fails to read gets no 200.
func TestRespondReadsRequestFirst(t *testing.T) {
	a := NewRespond(RespondConfig{Status: 200, Body: "ok"})
	body := strings.NewReader("hello")
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("POST", "/", body))
	if body.Len() != 0 || rec.Code != 200 || rec.Body.String() != "ok" {
		t.Errorf("left %d body bytes unread, answered %d %q; want all read, 200 ok", body.Len(), rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader("x"), iotest.ErrReader(errors.New("stream reset")))))
	if rec.Body.Len() != 0 || rec.Flushed {
		t.Errorf("answered %q after a failed body read; want nothing", rec.Body)
	}
}
