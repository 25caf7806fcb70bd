package gateway

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func TestRedirectLocation(t *testing.T) {
	cases := []struct {
		name string
		cfg  config.Redirect
		url  string
		tls  bool
		want string
	}{
		{"to https keeps host, drops port", config.Redirect{Scheme: "https", Status: 301}, "http://example.com:8080/a?x=1", false, "https://example.com/a?x=1"},
		{"same scheme keeps port", config.Redirect{Path: "/new", Status: 302}, "http://example.com:8080/old", false, "http://example.com:8080/new"},
		{"explicit host and port", config.Redirect{Host: "other.test", Port: 8443, Scheme: "https", Status: 308}, "http://example.com/p", false, "https://other.test:8443/p"},
		{"tls request default scheme", config.Redirect{Host: "x.test", Status: 302}, "https://example.com/p", true, "https://x.test/p"},
		{"well-known port elided", config.Redirect{Port: 443, Scheme: "https", Status: 302}, "http://example.com/p", false, "https://example.com/p"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", c.url, nil)
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			newRedirect(&c.cfg).ServeHTTP(rec, r)
			if rec.Code != c.cfg.Status || rec.Header().Get("Location") != c.want {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), c.cfg.Status, c.want)
			}
		})
	}
}

func TestRespond(t *testing.T) {
	h := newRespond(&config.Respond{Status: 201, Headers: map[string]string{"X-Demo": "a"}, Body: "hi"})
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
}

func TestURLRewrite(t *testing.T) {
	cases := []struct {
		rw       config.URLRewrite
		prefixes []string
		in, want string
	}{
		{config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/users"}}, []string{"/v1/users"}, "/v1/users/42", "/users/42"},
		{config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/"}}, []string{"/api"}, "/api/x", "/x"},
		{config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/"}}, []string{"/api"}, "/api", "/"},
		{config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/b/"}}, []string{"/a/"}, "/a/x", "/b/x"},
		{config.URLRewrite{Path: &config.PathRewrite{ReplaceFullPath: "/fixed"}}, nil, "/any/thing", "/fixed"},
		// The rewrite result is normalised again: it cannot smuggle dot-segments.
		{config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/x/.."}}, []string{"/p"}, "/p/admin", "/admin"},
	}
	for _, c := range cases {
		u := newURLRewrite(&c.rw, c.prefixes)
		var got string
		h := u.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = reqinfo.FromContext(r.Context()).Path
		}))
		r := httptest.NewRequest("GET", c.in, nil)
		r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: c.in}))
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s with %+v: got %q want %q", c.in, c.rw.Path, got, c.want)
		}
	}
}

func TestHeaderFilters(t *testing.T) {
	req := requestHeaders(newHeaderEdit(&config.HeaderFilter{
		Set: map[string]string{"x-env": "prod", "Host": "internal.test"}, Add: map[string]string{"X-Tag": "b"}, Remove: []string{"X-Debug"},
	}), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Env") != "prod" || len(r.Header["X-Tag"]) != 2 || r.Header.Get("X-Debug") != "" || r.Host != "internal.test" {
			t.Errorf("request headers not edited: host %q %v", r.Host, r.Header)
		}
		w.Header().Set("Server", "backend")
		w.Write([]byte("ok"))
	}))
	h := responseHeaders(newHeaderEdit(&config.HeaderFilter{Remove: []string{"server"}, Set: map[string]string{"X-Served-By": "gatehouse"}}), req)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Tag", "a")
	r.Header.Set("X-Debug", "1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Header().Get("Server") != "" || rec.Header().Get("X-Served-By") != "gatehouse" {
		t.Fatalf("response headers not edited: %v", rec.Header())
	}
}

func TestRequestID(t *testing.T) {
	a, b := newRequestID(), newRequestID()
	if len(a) != 36 || a == b || a[14] != '4' {
		t.Fatalf("ids %q %q", a, b)
	}
	for s, ok := range map[string]bool{"abc-123": true, "": false, "a b": false, "x\"y": false, string(make([]byte, 129)): false} {
		if validRequestID(s) != ok {
			t.Errorf("validRequestID(%q) != %v", s, ok)
		}
	}
}

// TestRespondReadsRequestFirst: respond answers once the request body is
// read (bounded), so a body that fails to read gets no 200.
func TestRespondReadsRequestFirst(t *testing.T) {
	a := newRespond(&config.Respond{Status: 200, Body: "ok"})
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
