package filter

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func TestURLRewrite(t *testing.T) {
	cases := []struct {
		rw       URLRewriteConfig
		in, want string
	}{
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/users", Prefixes: []string{"/v1/users"}}, "/v1/users/42", "/users/42"},
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/", Prefixes: []string{"/api"}}, "/api/x", "/x"},
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/", Prefixes: []string{"/api"}}, "/api", "/"},
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/b/", Prefixes: []string{"/a/"}}, "/a/x", "/b/x"},
		{URLRewriteConfig{PathEdit: true, FullPath: "/fixed"}, "/any/thing", "/fixed"},
		// The longest prefix wins whatever the order given.
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/z", Prefixes: []string{"/a", "/a/b"}}, "/a/b/c", "/z/c"},
		// A route without prefix matches leaves the path alone.
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/z"}, "/a/b", "/a/b"},
		// The rewrite result is normalised again: it cannot smuggle dot-segments.
		{URLRewriteConfig{PathEdit: true, PrefixTo: "/x/..", Prefixes: []string{"/p"}}, "/p/admin", "/admin"},
	}
	for _, c := range cases {
		var got string
		h := URLRewrite(c.rw)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = reqinfo.FromContext(r.Context()).Path
		}))
		r := httptest.NewRequest("GET", c.in, nil)
		r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: c.in}))
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s with %+v: got %q want %q", c.in, c.rw, got, c.want)
		}
	}
}

func TestURLRewriteHostname(t *testing.T) {
	var host string
	h := URLRewrite(URLRewriteConfig{Hostname: "internal.test"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { host = r.Host }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com/", nil))
	if host != "internal.test" {
		t.Fatalf("host %q", host)
	}
}

func TestHeaderFilters(t *testing.T) {
	req := RequestHeaders(HeadersConfig{
		Set: map[string]string{"x-env": "prod", "Host": "internal.test"}, Add: map[string]string{"X-Tag": "b"}, Remove: []string{"X-Debug"},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Env") != "prod" || len(r.Header["X-Tag"]) != 2 || r.Header.Get("X-Debug") != "" || r.Host != "internal.test" {
			t.Errorf("request headers not edited: host %q %v", r.Host, r.Header)
		}
		w.Header().Set("Server", "backend")
		w.Write([]byte("ok"))
	}))
	h := ResponseHeaders(HeadersConfig{Remove: []string{"server"}, Set: map[string]string{"X-Served-By": "gatehouse"}})(req)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Tag", "a")
	r.Header.Set("X-Debug", "1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Header().Get("Server") != "" || rec.Header().Get("X-Served-By") != "gatehouse" {
		t.Fatalf("response headers not edited: %v", rec.Header())
	}
}
