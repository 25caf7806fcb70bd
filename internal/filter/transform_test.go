package filter

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func infoRequest(target string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	info := &reqinfo.Info{ClientIP: netip.MustParseAddr("192.0.2.7"), RequestID: "rid-1", Route: "users", Path: r.URL.Path}
	info.Params.Add("id", "42")
	return r.WithContext(reqinfo.NewContext(r.Context(), info))
}

func TestRequestHeaderTemplates(t *testing.T) {
	var got http.Header
	h := RequestHeaders(HeadersConfig{
		Set:    map[string]string{"X-Client": "${client_ip}", "X-Ids": "${request_id}/${param.id}", "X-Lit": "cost $${x} $5", "X-Old": "was ${header.x-old}"},
		Add:    map[string]string{"X-Route": "${route}"},
		Remove: []string{"X-Old"},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	r := infoRequest("/users/42")
	r.Header.Set("X-Old", "o")
	h.ServeHTTP(httptest.NewRecorder(), r)
	want := map[string]string{"X-Client": "192.0.2.7", "X-Ids": "rid-1/42", "X-Lit": "cost ${x} $5", "X-Old": "was o", "X-Route": "users"}
	for k, v := range want {
		if got.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Get(k), v)
		}
	}
}

func TestEditHeadersStaysLiteral(t *testing.T) {
	h := http.Header{}
	EditHeaders(HeadersConfig{Set: map[string]string{"X-A": "${client_ip}", "X-B": "$${y}"}})(h)
	if h.Get("X-A") != "${client_ip}" || h.Get("X-B") != "$${y}" {
		t.Fatalf("target headers rendered: %v", h)
	}
}

func TestResponseHeaderTemplatesAndWhen(t *testing.T) {
	status := 200
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
	})
	h := ResponseHeaders(HeadersConfig{
		Set:  map[string]string{"X-Status": "${status} ${response_header.content-type} ${request_id}"},
		When: func(r *http.Request, status int, h http.Header) bool { return status >= 500 },
	})(backend)
	for _, c := range []struct {
		status int
		want   string
	}{{200, ""}, {503, "503 text/plain rid-1"}} {
		status = c.status
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, infoRequest("/"))
		if got := rec.Header().Get("X-Status"); got != c.want {
			t.Errorf("status %d: X-Status %q, want %q", c.status, got, c.want)
		}
	}
	// A static edit with a condition.
	h = ResponseHeaders(HeadersConfig{Remove: []string{"Content-Type"}, When: func(*http.Request, int, http.Header) bool { return false }})(backend)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, infoRequest("/"))
	if rec.Header().Get("Content-Type") == "" {
		t.Fatal("edit applied although when was false")
	}
}

func TestWhen(t *testing.T) {
	layer := RequestHeaders(HeadersConfig{Set: map[string]string{"X-Applied": "1"}})
	var got string
	h := When(func(r *http.Request) bool { return r.Method == "POST" }, layer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("X-Applied")
	}))
	for method, want := range map[string]string{"GET": "", "POST": "1"} {
		got = "unset"
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/", nil))
		if got != want {
			t.Errorf("%s: X-Applied %q, want %q", method, got, want)
		}
	}
}

func TestQuery(t *testing.T) {
	cases := []struct {
		c        QueryConfig
		in, want string
	}{
		{QueryConfig{}, "a=1&b=%2F", "a=1&b=%2F"},
		{QueryConfig{Remove: []string{"key"}}, "a=%7e&key=s&b=2&key=t", "a=%7e&b=2"},
		// An encoded name still matches; a pair with ';' is removed by its name.
		{QueryConfig{Remove: []string{"api key"}}, "api+key=1&api%20key=2&x=1;y&api key=3", "x=1;y"},
		{QueryConfig{Set: map[string]string{"b": "x y&z"}}, "a=1&b=old&c=%41&b=older", "a=1&b=x+y%26z&c=%41"},
		{QueryConfig{Set: map[string]string{"new": "1"}}, "a=1", "a=1&new=1"},
		{QueryConfig{Set: map[string]string{"new": "1"}}, "", "new=1"},
		{QueryConfig{Add: map[string]string{"a": "2", "b": "é"}}, "a=1", "a=1&a=2&b=%C3%A9"},
		{QueryConfig{Remove: []string{"a"}, Set: map[string]string{"a": "s"}, Add: map[string]string{"a": "t"}}, "a=1&z=0", "z=0&a=s&a=t"},
		{QueryConfig{Set: map[string]string{"ip": "${client_ip}", "p": "${param.id}/${query.a}"}, Add: map[string]string{"lit": "$${x}"}}, "a=1%262", "a=1%262&ip=192.0.2.7&p=42%2F1%262&lit=%24%7Bx%7D"},
	}
	for _, c := range cases {
		var got string
		h := Query(c.c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.URL.RawQuery }))
		r := infoRequest("/p")
		r.URL.RawQuery = c.in
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%+v on %q: got %q want %q", c.c, c.in, got, c.want)
		}
	}
}

func BenchmarkRequestHeaders(b *testing.B) {
	for _, bc := range []struct {
		name string
		set  map[string]string
	}{
		{"literal", map[string]string{"X-Env": "prod", "X-Tier": "gold"}},
		{"template2", map[string]string{"X-Env": "${client_ip}", "X-Tier": "${request_id}"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := RequestHeaders(HeadersConfig{Set: bc.set})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := infoRequest("/users/42")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkQuery(b *testing.B) {
	h := Query(QueryConfig{Set: map[string]string{"ip": "${client_ip}"}, Remove: []string{"key"}})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := infoRequest("/users/42")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.URL.RawQuery = "a=1&key=secret&b=2"
		h.ServeHTTP(w, r)
	}
}

func TestHeaderTemplateCannotSplitHeaders(t *testing.T) {
	var got string
	h := RequestHeaders(HeadersConfig{Set: map[string]string{"X-Q": "${query.q}"}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("X-Q") }))
	h.ServeHTTP(httptest.NewRecorder(), infoRequest("/?q=a%0d%0aX-Evil:%201%00%09b"))
	if got != "aX-Evil: 1\tb" {
		t.Fatalf("X-Q %q", got)
	}
}
