package cors

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
)

func mustNew(t testing.TB, cfg Config) *CORS {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefuses(t *testing.T) {
	cases := map[string]Config{
		"star with credentials":   {AllowOrigins: []string{"*"}, AllowCredentials: true},
		"no origins":              {},
		"origin with path":        {AllowOrigins: []string{"https://a.example/app"}},
		"origin trailing slash":   {AllowOrigins: []string{"https://a.example/"}},
		"origin without scheme":   {AllowOrigins: []string{"a.example"}},
		"origin with query":       {AllowOrigins: []string{"https://a.example?x"}},
		"origin with user":        {AllowOrigins: []string{"https://u@a.example"}},
		"origin without host":     {AllowOrigins: []string{"https://:443"}},
		"bad regex":               {AllowOriginRegex: []string{"("}},
		"bad method":              {AllowOrigins: []string{"https://a.example"}, AllowMethods: []string{"GE T"}},
		"bad header":              {AllowOrigins: []string{"https://a.example"}, AllowHeaders: []string{"X:Y"}},
		"bad expose header":       {AllowOrigins: []string{"https://a.example"}, ExposeHeaders: []string{"a b"}},
		"expose star credentials": {AllowOrigins: []string{"https://a.example"}, ExposeHeaders: []string{"*"}, AllowCredentials: true},
		"negative max age":        {AllowOrigins: []string{"https://a.example"}, MaxAge: -time.Second},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

var upstream = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Upstream", "1")
	w.WriteHeader(299)
})

func do(h http.Handler, method string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/p", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// serve runs c in front of next and reports whether next was called.
func serve(c *CORS, next http.Handler, method string, hdr ...string) (*httptest.ResponseRecorder, bool) {
	called := false
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		next.ServeHTTP(w, r)
	}))
	return do(h, method, hdr...), called
}

func wantHeader(t *testing.T, h http.Header, key string, want ...string) {
	t.Helper()
	if got := h.Values(key); !slices.Equal(got, want) {
		t.Fatalf("%s = %q, want %q", key, got, want)
	}
}

func TestPreflightAllowed(t *testing.T) {
	c := mustNew(t, Config{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowMethods:     []string{"GET", "put"},
		AllowHeaders:     []string{"content-type", "X-Api-Key"},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	})
	w, called := serve(c, upstream, "OPTIONS",
		"Origin", "https://app.example.com",
		"Access-Control-Request-Method", "PUT",
		"Access-Control-Request-Headers", "x-api-key,content-type")
	if called {
		t.Fatal("preflight reached upstream")
	}
	if w.Code != http.StatusNoContent {
		t.Fatalf("status %d", w.Code)
	}
	h := w.Header()
	wantHeader(t, h, "Access-Control-Allow-Origin", "https://app.example.com")
	wantHeader(t, h, "Access-Control-Allow-Credentials", "true")
	wantHeader(t, h, "Access-Control-Allow-Methods", "GET, PUT")
	wantHeader(t, h, "Access-Control-Allow-Headers", "content-type, X-Api-Key") // as configured
	wantHeader(t, h, "Access-Control-Max-Age", "600")
	wantHeader(t, h, "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	wantHeader(t, h, "Access-Control-Allow-Private-Network")
}

func TestPreflightRefused(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"https://app.example.com"}, AllowHeaders: []string{"X-A"}})
	cases := map[string][]string{
		"origin":            {"Origin", "https://evil.example.com", "Access-Control-Request-Method", "GET"},
		"two origins":       {"Origin", "https://app.example.com", "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET"},
		"method":            {"Origin", "https://app.example.com", "Access-Control-Request-Method", "DELETE"},
		"header":            {"Origin", "https://app.example.com", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-a, x-b"},
		"malformed headers": {"Origin", "https://app.example.com", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-a;x"},
	}
	for name, hdr := range cases {
		w, called := serve(c, upstream, "OPTIONS", hdr...)
		if called {
			t.Fatalf("%s: refused preflight reached upstream", name)
		}
		if w.Code != http.StatusForbidden || w.Header().Get("Content-Type") != problem.ContentType {
			t.Fatalf("%s: status %d, type %q", name, w.Code, w.Header().Get("Content-Type"))
		}
		if w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s: refusal carries Allow-Origin", name)
		}
		var d problem.Details
		if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || d.Status != 403 {
			t.Fatalf("%s: body %q", name, w.Body)
		}
		wantHeader(t, w.Header(), "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	}
}

func TestPreflightDefaultsAndWildcards(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"*"}})
	w, _ := serve(c, upstream, "OPTIONS", "Origin", "https://x.example", "Access-Control-Request-Method", "POST")
	if w.Code != 204 {
		t.Fatalf("status %d", w.Code)
	}
	wantHeader(t, w.Header(), "Access-Control-Allow-Origin", "*")
	wantHeader(t, w.Header(), "Access-Control-Allow-Methods", "GET, HEAD, POST")
	wantHeader(t, w.Header(), "Access-Control-Allow-Headers")
	wantHeader(t, w.Header(), "Access-Control-Allow-Credentials")
	wantHeader(t, w.Header(), "Access-Control-Max-Age")
	if w, _ := serve(c, upstream, "OPTIONS", "Origin", "https://x.example", "Access-Control-Request-Method", "PUT"); w.Code != 403 {
		t.Fatalf("default methods allow PUT: %d", w.Code)
	}
	// With no AllowHeaders, any requested non-safelisted header fails.
	if w, _ := serve(c, upstream, "OPTIONS", "Origin", "https://x.example", "Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "content-type"); w.Code != 403 {
		t.Fatalf("default headers allow content-type: %d", w.Code)
	}

	c = mustNew(t, Config{AllowOrigins: []string{"https://a.example"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, AllowCredentials: true, AllowPrivateNetwork: true})
	w, _ = serve(c, upstream, "OPTIONS", "Origin", "https://a.example",
		"Access-Control-Request-Method", "PATCH",
		"Access-Control-Request-Headers", "authorization,x-custom",
		"Access-Control-Request-Private-Network", "true")
	if w.Code != 204 {
		t.Fatalf("status %d", w.Code)
	}
	wantHeader(t, w.Header(), "Access-Control-Allow-Methods", "PATCH")
	wantHeader(t, w.Header(), "Access-Control-Allow-Headers", "authorization,x-custom")
	wantHeader(t, w.Header(), "Access-Control-Allow-Private-Network", "true")
	wantHeader(t, w.Header(), "Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network")
}

// TestPreflightGatewayAPI: the behaviours Gateway API's CORS filter
// requires (conformance test HTTPRouteCORS): safelisted methods are
// always allowed, Allow-Headers only answers a preflight that asked for
// headers, Expose-Headers is on the preflight too, names keep their
// configured spelling.
func TestPreflightGatewayAPI(t *testing.T) {
	c := mustNew(t, Config{
		AllowOrigins:  []string{"https://www.foo.com"},
		AllowMethods:  []string{"GET", "OPTIONS"},
		AllowHeaders:  []string{"x-header-1", "x-header-2"},
		ExposeHeaders: []string{"x-header-3", "x-header-4"},
	})
	w, _ := serve(c, upstream, "OPTIONS", "Origin", "https://www.foo.com",
		"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "x-header-1, x-header-2")
	if w.Code != 204 {
		t.Fatalf("status %d", w.Code)
	}
	wantHeader(t, w.Header(), "Access-Control-Allow-Methods", "GET, OPTIONS")
	wantHeader(t, w.Header(), "Access-Control-Allow-Headers", "x-header-1, x-header-2")
	wantHeader(t, w.Header(), "Access-Control-Expose-Headers", "x-header-3, x-header-4")

	w, _ = serve(c, upstream, "OPTIONS", "Origin", "https://www.foo.com", "Access-Control-Request-Method", "POST")
	if w.Code != 204 {
		t.Fatalf("safelisted POST not in allow_methods: status %d, want 204", w.Code)
	}
	wantHeader(t, w.Header(), "Access-Control-Allow-Headers")
	if w, _ := serve(c, upstream, "OPTIONS", "Origin", "https://www.foo.com", "Access-Control-Request-Method", "PUT"); w.Code != 403 {
		t.Fatalf("PUT: status %d, want 403", w.Code)
	}
}

// OPTIONS without Access-Control-Request-Method is an ordinary request.
func TestOptionsWithoutRequestMethodIsActual(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"https://a.example"}})
	w, called := serve(c, upstream, "OPTIONS", "Origin", "https://a.example")
	if !called || w.Code != 299 {
		t.Fatalf("called %v status %d", called, w.Code)
	}
	wantHeader(t, w.Header(), "Access-Control-Allow-Origin", "https://a.example")
}

func TestActualAllowed(t *testing.T) {
	c := mustNew(t, Config{
		AllowOrigins:     []string{"https://app.example.com"},
		ExposeHeaders:    []string{"x-total"},
		AllowCredentials: true,
	})
	// An upstream with its own, looser, CORS headers and a Vary.
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", "DELETE")
		h.Set("Access-Control-Max-Age", "99999")
		h.Set("Vary", "Accept-Encoding")
		w.Write([]byte("hi"))
	})
	w, called := serve(c, up, "GET", "Origin", "https://app.example.com")
	if !called || w.Code != 200 || w.Body.String() != "hi" {
		t.Fatalf("called %v status %d body %q", called, w.Code, w.Body)
	}
	h := w.Header()
	wantHeader(t, h, "Access-Control-Allow-Origin", "https://app.example.com")
	wantHeader(t, h, "Access-Control-Allow-Credentials", "true")
	wantHeader(t, h, "Access-Control-Expose-Headers", "x-total") // as configured
	wantHeader(t, h, "Access-Control-Allow-Methods")
	wantHeader(t, h, "Access-Control-Max-Age")
	wantHeader(t, h, "Vary", "Accept-Encoding", "Origin")
}

func TestActualWildcard(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"*"}})
	w, _ := serve(c, upstream, "POST", "Origin", "https://any.example")
	wantHeader(t, w.Header(), "Access-Control-Allow-Origin", "*")
	wantHeader(t, w.Header(), "Access-Control-Allow-Credentials")
	wantHeader(t, w.Header(), "X-Upstream", "1")
}

func TestActualDisallowedOrigin(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"https://app.example.com"}})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(299)
	})
	w, called := serve(c, up, "GET", "Origin", "https://evil.example.com")
	if !called || w.Code != 299 {
		t.Fatalf("called %v status %d", called, w.Code)
	}
	wantHeader(t, w.Header(), "Access-Control-Allow-Origin")
	wantHeader(t, w.Header(), "Vary", "Origin")
}

func TestNoOrigin(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"https://app.example.com"}})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept")
		w.Header().Set("Access-Control-Allow-Origin", "https://up.example")
		w.WriteHeader(299)
	})
	w, called := serve(c, up, "GET")
	if !called || w.Code != 299 {
		t.Fatalf("called %v status %d", called, w.Code)
	}
	// Untouched, except that caches are told the answer depends on Origin.
	wantHeader(t, w.Header(), "Access-Control-Allow-Origin", "https://up.example")
	wantHeader(t, w.Header(), "Vary", "Origin", "Accept")
	// The shared Vary value must not have been written through.
	if varyOrigin[0] != "Origin" || len(varyOrigin) != 1 {
		t.Fatalf("shared vary slice modified: %q", varyOrigin)
	}
}

func TestVaryNotDuplicated(t *testing.T) {
	h := http.Header{"Vary": {"accept-encoding, origin"}}
	addVaryOrigin(h)
	wantHeader(t, h, "Vary", "accept-encoding, origin")
	h = http.Header{"Vary": {"*"}}
	addVaryOrigin(h)
	wantHeader(t, h, "Vary", "*")
}

func TestOriginMatching(t *testing.T) {
	c := mustNew(t, Config{
		AllowOrigins:     []string{"HTTPS://App.Example.com:443", "http://localhost:8080", "null"},
		AllowOriginRegex: []string{`https://[a-z0-9-]+\.preview\.example\.net`},
	})
	cases := map[string]bool{
		"https://app.example.com":                         true, // config normalised
		"https://app.example.com:443":                     false,
		"https://APP.example.com":                         false, // case-sensitive, as browsers send lower case
		"http://app.example.com":                          false,
		"https://app.example.com.evil.net":                false,
		"http://localhost:8080":                           true,
		"http://localhost":                                false,
		"null":                                            true,
		"https://pr-12.preview.example.net":               true,
		"https://pr-12.preview.example.net.evil.io":       false, // anchored
		"https://x.evil.io/https://a.preview.example.net": false,
		"https://PR.preview.example.net":                  false,
		"":                                                false,
	}
	for origin, want := range cases {
		if _, got := c.allowOrigin(origin); got != want {
			t.Errorf("allowOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}

func TestNullOnlyWhenListed(t *testing.T) {
	for _, cfg := range []Config{
		{AllowOrigins: []string{"*"}},
		{AllowOriginRegex: []string{".*"}},
	} {
		c := mustNew(t, cfg)
		if _, ok := c.allowOrigin("null"); ok {
			t.Fatalf("%+v allows null", cfg)
		}
	}
	c := mustNew(t, Config{AllowOrigins: []string{"null"}, AllowCredentials: true})
	w, _ := serve(c, upstream, "GET", "Origin", "null")
	wantHeader(t, w.Header(), "Access-Control-Allow-Origin", "null")
}

// A regex that accepts anything must still not reflect junk into a header.
func TestRegexDoesNotReflectJunk(t *testing.T) {
	c := mustNew(t, Config{AllowOriginRegex: []string{`(?s).*`}})
	for _, o := range []string{"https://a.example, https://b.example", "https://a.example\r\nX: y", "foo", "https://"} {
		if _, ok := c.allowOrigin(o); ok {
			t.Errorf("reflected %q", o)
		}
	}
}

// Over a real connection: headers are applied when the handler flushes
// before writing, and when it returns without writing at all.
func TestOnTheWire(t *testing.T) {
	c := mustNew(t, Config{AllowOrigins: []string{"https://a.example"}})
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.(http.Flusher).Flush()
		io.WriteString(w, "streamed")
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	})
	srv := httptest.NewServer(c.Wrap(mux))
	defer srv.Close()
	for _, path := range []string{"/flush", "/silent"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Origin", "https://a.example")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		wantHeader(t, res.Header, "Access-Control-Allow-Origin", "https://a.example")
		wantHeader(t, res.Header, "Vary", "Origin")
	}
}

func FuzzOrigin(f *testing.F) {
	for _, s := range []string{"https://a.example", "null", "", "https://", "HTTPS://A.EXAMPLE", "https://a.example:443", "http://[::1]:80", "a://b/c?d#e", "\x00", "https://a.example/", "https://:443"} {
		f.Add(s)
	}
	c := mustNew(f, Config{
		AllowOrigins:     []string{"https://a.example", "null"},
		AllowOriginRegex: []string{`https://.*`},
	})
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := c.allowOrigin(s); ok {
			if v != s {
				t.Fatalf("allowed %q as %q", s, v)
			}
			if strings.ContainsAny(v, " ,\r\n\t\x00") {
				t.Fatalf("reflected junk %q", v)
			}
		}
		// The configuration parser must not panic either, and what it
		// accepts must be stable.
		if n, err := normalizeOrigin(s); err == nil {
			if n2, err := normalizeOrigin(n); err != nil || n2 != n {
				t.Fatalf("normalizeOrigin(%q) = %q, again %q %v", s, n, n2, err)
			}
		}
	})
}

func benchActual(b *testing.B, origin string) {
	c := mustNew(b, Config{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true, ExposeHeaders: []string{"X-Total"}})
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	r := httptest.NewRequest("GET", "/", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkActualNoOrigin(b *testing.B)         { benchActual(b, "") }
func BenchmarkActualAllowedOrigin(b *testing.B)    { benchActual(b, "https://app.example.com") }
func BenchmarkActualDisallowedOrigin(b *testing.B) { benchActual(b, "https://evil.example.com") }

func BenchmarkPreflight(b *testing.B) {
	c := mustNew(b, Config{AllowOrigins: []string{"https://app.example.com"}, AllowHeaders: []string{"Content-Type"}, MaxAge: time.Hour})
	h := c.Wrap(http.NotFoundHandler())
	r := httptest.NewRequest("OPTIONS", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type")
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
