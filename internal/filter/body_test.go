package filter

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/jsonxform"
	"github.com/gatehouse/gatehouse/internal/problem"
)

type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(r string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	c.m[r]++
}

func (c *counts) get(r string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[r]
}

func bodyConfig(t *testing.T, xc jsonxform.Config, max int64) (BodyConfig, *counts) {
	t.Helper()
	tr, err := jsonxform.New(xc)
	if err != nil {
		t.Fatal(err)
	}
	ct := &counts{}
	return BodyConfig{Transform: tr, MaxBytes: max, Count: ct.add}, ct
}

// seen is what the next handler got.
type seen struct {
	body          string
	contentLength int64
	header        http.Header
	te            []string
	called        bool
}

func requestThrough(t *testing.T, c BodyConfig, r *http.Request) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	s := &seen{}
	h := RequestBody(c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.called = true
		b, _ := io.ReadAll(r.Body)
		s.body, s.contentLength, s.header, s.te = string(b), r.ContentLength, r.Header, r.TransferEncoding
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, s
}

func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest("POST", "/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return r
}

func TestRequestBodyTransformed(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Set: []jsonxform.Assign{{Path: "added", Value: "yes"}}, Remove: []string{"secret"}}, 0)
	w, s := requestThrough(t, c, jsonRequest(`{"a":1,"secret":"x"}`))
	want := `{"a":1,"added":"yes"}`
	if !s.called || s.body != want {
		t.Fatalf("backend got %q (called %v), want %q; response %d %s", s.body, s.called, want, w.Code, w.Body)
	}
	if s.contentLength != int64(len(want)) || s.header.Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Errorf("ContentLength %d, header %q; want %d", s.contentLength, s.header.Get("Content-Length"), len(want))
	}
	if ct.get(BodyTransformed) != 1 {
		t.Errorf("counts %v", ct.m)
	}
}

func TestRequestBodyChunked(t *testing.T) {
	c, _ := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	r := jsonRequest(`[1]`)
	r.ContentLength = -1
	r.TransferEncoding = []string{"chunked"}
	r.Header.Del("Content-Length")
	r.Header.Set("Transfer-Encoding", "chunked")
	w, s := requestThrough(t, c, r)
	if s.body != `{"w":[1]}` || s.contentLength != 9 || len(s.te) != 0 || s.header.Get("Transfer-Encoding") != "" {
		t.Fatalf("got %q cl %d te %v header %v", s.body, s.contentLength, s.te, s.header)
	}
	if w.Header().Get("Connection") != "close" {
		t.Error("a chunked HTTP/1 request's connection is no longer closed after the response")
	}
}

func TestRequestBodyBound(t *testing.T) {
	const max = 64
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, max)
	at := `{"s":"` + strings.Repeat("a", max-8) + `"}`
	if len(at) != max {
		t.Fatalf("len %d", len(at))
	}
	w, s := requestThrough(t, c, jsonRequest(at))
	if !s.called || s.body != `{"w":`+at+`}` {
		t.Fatalf("at the bound: %d %s, backend %q", w.Code, w.Body, s.body)
	}
	past := `{"s":"` + strings.Repeat("a", max-7) + `"}`
	// Announced past the bound: refused before reading.
	w, s = requestThrough(t, c, jsonRequest(past))
	if s.called || w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Content-Type") != problem.ContentType || w.Header().Get("Connection") != "close" {
		t.Fatalf("past the bound: %d %v %s", w.Code, w.Header(), w.Body)
	}
	// Chunked past the bound: refused after reading MaxBytes+1.
	r := jsonRequest(past)
	r.ContentLength = -1
	w, s = requestThrough(t, c, r)
	if s.called || w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Connection") != "close" {
		t.Fatalf("chunked past the bound: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if ct.get(BodyTooLarge) != 2 || ct.get(BodyTransformed) != 1 {
		t.Errorf("counts %v", ct.m)
	}
}

func TestRequestBodyReadLimitedByPolicy(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	r := jsonRequest(`{"a":"` + strings.Repeat("x", 100) + `"}`)
	r.ContentLength = -1
	w := httptest.NewRecorder()
	r.Body = http.MaxBytesReader(w, r.Body, 10) // request_limits' bound
	s := &seen{}
	RequestBody(c)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { s.called = true })).ServeHTTP(w, r)
	if s.called || w.Code != http.StatusRequestEntityTooLarge || ct.get(BodyTooLarge) != 1 {
		t.Fatalf("%d %s %v", w.Code, w.Body, ct.m)
	}
}

func TestRequestBodyInvalid(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	w, s := requestThrough(t, c, jsonRequest(`{"a":`))
	if s.called || w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != problem.ContentType || ct.get(BodyInvalid) != 1 {
		t.Fatalf("%d %s %v", w.Code, w.Body, ct.m)
	}
	c, ct = bodyConfig(t, jsonxform.Config{JQ: `.a + 1`}, 0)
	w, s = requestThrough(t, c, jsonRequest(`{"a":"s"}`))
	if s.called || w.Code != http.StatusBadRequest || ct.get(BodyError) != 1 {
		t.Fatalf("jq error: %d %s %v", w.Code, w.Body, ct.m)
	}
}

func TestRequestBodyPassThrough(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	// Not JSON.
	r := httptest.NewRequest("POST", "/x", strings.NewReader("a=1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, s := requestThrough(t, c, r); s.body != "a=1" {
		t.Errorf("form body %q", s.body)
	}
	// JSON with a +json suffix is transformed.
	r = jsonRequest(`1`)
	r.Header.Set("Content-Type", "application/problem+json")
	if _, s := requestThrough(t, c, r); s.body != `{"w":1}` {
		t.Errorf("+json body %q", s.body)
	}
	// Encoded.
	r = jsonRequest("\x1f\x8b not really gzip")
	r.Header.Set("Content-Encoding", "gzip")
	if _, s := requestThrough(t, c, r); s.body != "\x1f\x8b not really gzip" {
		t.Errorf("gzip body %q", s.body)
	}
	// identity is no encoding.
	r = jsonRequest(`2`)
	r.Header.Set("Content-Encoding", "identity")
	if _, s := requestThrough(t, c, r); s.body != `{"w":2}` {
		t.Errorf("identity body %q", s.body)
	}
	// No body.
	r = httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Content-Type", "application/json")
	if _, s := requestThrough(t, c, r); !s.called || s.body != "" || s.contentLength != 0 {
		t.Errorf("no body: %+v", s)
	}
	// Condition false.
	c.When = func(r *http.Request, status int, h http.Header) bool { return status == 0 && h.Get("X-T") != "" }
	if _, s := requestThrough(t, c, jsonRequest(`3`)); s.body != `3` {
		t.Errorf("when false: %q", s.body)
	}
	r = jsonRequest(`3`)
	r.Header.Set("X-T", "1")
	if _, s := requestThrough(t, c, r); s.body != `{"w":3}` {
		t.Errorf("when true: %q", s.body)
	}
	for k, n := range map[string]int{BodySkippedType: 1, BodySkippedEncoding: 1, BodySkippedWhen: 1, BodyTransformed: 3} {
		if got := ct.get(k); got != n {
			t.Errorf("%s: %d, want %d (%v)", k, got, n, ct.m)
		}
	}
}

// upstream is a handler writing a fixed response.
func upstream(status int, header map[string]string, body string, writes int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		if writes <= 1 {
			io.WriteString(w, body)
			return
		}
		step := len(body)/writes + 1
		for i := 0; i < len(body); i += step {
			io.WriteString(w, body[i:min(i+step, len(body))])
			http.NewResponseController(w).Flush()
		}
	})
}

func responseThrough(c BodyConfig, method string, h http.Handler) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	ResponseBody(c)(h).ServeHTTP(w, httptest.NewRequest(method, "/x", nil))
	return w
}

func TestResponseBodyTransformed(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Allow: []string{"id"}}, 0)
	body := `{"id":1,"secret":"x"}`
	w := responseThrough(c, "GET", upstream(201, map[string]string{
		"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(body)), "Etag": `"v1"`,
		"Digest": "sha-256=x", "Content-Md5": "x", "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT", "X-Up": "kept",
	}, body, 3))
	if w.Code != 201 || w.Body.String() != `{"id":1}` {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
	h := w.Result().Header
	if h.Get("Content-Length") != "8" || h.Get("Etag") != "" || h.Get("Digest") != "" || h.Get("Content-Md5") != "" {
		t.Errorf("headers %v", h)
	}
	if h.Get("X-Up") != "kept" || h.Get("Last-Modified") == "" {
		t.Errorf("headers lost: %v", h)
	}
	if w.Flushed {
		t.Error("a held body was flushed early")
	}
	if ct.get(BodyTransformed) != 1 {
		t.Errorf("counts %v", ct.m)
	}
}

func TestResponseBodyImplicitStatus(t *testing.T) {
	c, _ := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	w := responseThrough(c, "GET", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[1]`)
	}))
	if w.Code != 200 || w.Body.String() != `{"w":[1]}` {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
}

func TestResponseBodyBound(t *testing.T) {
	const max = 64
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, max)
	at := `{"s":"` + strings.Repeat("a", max-8) + `"}`
	past := `{"s":"` + strings.Repeat("a", max-7) + `"}`
	ctype := map[string]string{"Content-Type": "application/json"}
	// At the bound, unannounced length, several writes: transformed.
	w := responseThrough(c, "GET", upstream(200, ctype, at, 4))
	if w.Body.String() != `{"w":`+at+`}` {
		t.Fatalf("at the bound: %q", w.Body)
	}
	// Past it, unannounced: the prefix held then the rest, untouched.
	w = responseThrough(c, "GET", upstream(200, ctype, past, 4))
	if w.Body.String() != past || w.Header().Get("Content-Length") != "" {
		t.Fatalf("past the bound: %q %v", w.Body, w.Header())
	}
	// Past it, announced: never held, streams (flushes reach the client).
	w = responseThrough(c, "GET", upstream(200, map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(past))}, past, 4))
	if w.Body.String() != past || !w.Flushed {
		t.Fatalf("announced past the bound: %q flushed %v", w.Body, w.Flushed)
	}
	if ct.get(BodySkippedSize) != 2 || ct.get(BodyTransformed) != 1 {
		t.Errorf("counts %v", ct.m)
	}
}

func TestResponseBodyPassThrough(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	for _, tc := range []struct {
		name   string
		method string
		status int
		header map[string]string
		body   string
		result string
	}{
		{"text", "GET", 200, map[string]string{"Content-Type": "text/plain"}, "hello", BodySkippedType},
		{"event stream", "GET", 200, map[string]string{"Content-Type": "text/event-stream"}, "data: 1\n\n", BodySkippedType},
		{"no type", "GET", 200, nil, "{}", BodySkippedType},
		{"problem", "GET", 502, map[string]string{"Content-Type": "application/problem+json"}, `{"status":502}`, BodySkippedType},
		{"gzip", "GET", 200, map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, "\x1f\x8bzz", BodySkippedEncoding},
		{"HEAD", "HEAD", 200, map[string]string{"Content-Type": "application/json"}, "", BodySkippedStatus},
		{"204", "GET", 204, map[string]string{"Content-Type": "application/json"}, "", BodySkippedStatus},
		{"304", "GET", 304, map[string]string{"Content-Type": "application/json", "Etag": `"e"`}, "", BodySkippedStatus},
		{"206", "GET", 206, map[string]string{"Content-Type": "application/json", "Content-Range": "bytes 0-1/10"}, `{"`, BodySkippedStatus},
	} {
		before := ct.get(tc.result)
		w := responseThrough(c, tc.method, upstream(tc.status, tc.header, tc.body, 2))
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q", tc.name, w.Code, w.Body)
		}
		if tc.body != "" && tc.method == "GET" && !w.Flushed {
			t.Errorf("%s: flushes did not pass through", tc.name)
		}
		if tc.header["Etag"] != "" && w.Header().Get("Etag") != tc.header["Etag"] {
			t.Errorf("%s: Etag dropped on a response not transformed", tc.name)
		}
		if ct.get(tc.result) != before+1 {
			t.Errorf("%s: not counted as %s: %v", tc.name, tc.result, ct.m)
		}
	}
}

func TestResponseBodyInterim(t *testing.T) {
	c, _ := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	var codes []int
	rec := httptest.NewRecorder()
	w := &codeRecorder{ResponseRecorder: rec, codes: &codes}
	ResponseBody(c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		io.WriteString(w, `1`)
	})).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if len(codes) != 2 || codes[0] != 103 || codes[1] != 200 || rec.Body.String() != `{"w":1}` {
		t.Fatalf("codes %v body %q", codes, rec.Body)
	}
}

type codeRecorder struct {
	*httptest.ResponseRecorder
	codes *[]int
}

func (c *codeRecorder) WriteHeader(code int) {
	*c.codes = append(*c.codes, code)
	if code >= 200 {
		c.ResponseRecorder.WriteHeader(code)
	}
}

func TestResponseBodyError(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	w := responseThrough(c, "GET", upstream(200, map[string]string{"Content-Type": "application/json", "Etag": `"x"`}, `{"a":`, 1))
	if w.Code != http.StatusBadGateway || w.Header().Get("Content-Type") != problem.ContentType || w.Header().Get("Etag") != "" {
		t.Fatalf("%d %v %q", w.Code, w.Header(), w.Body)
	}
	if cl, _ := strconv.Atoi(w.Header().Get("Content-Length")); cl != w.Body.Len() {
		t.Errorf("Content-Length %d, body %d", cl, w.Body.Len())
	}
	if ct.get(BodyError) != 1 {
		t.Errorf("counts %v", ct.m)
	}
}

func TestResponseBodyWhen(t *testing.T) {
	c, ct := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	c.When = func(r *http.Request, status int, h http.Header) bool { return status == 200 && h.Get("X-T") == "1" }
	w := responseThrough(c, "GET", upstream(200, map[string]string{"Content-Type": "application/json", "X-T": "1"}, `1`, 1))
	if w.Body.String() != `{"w":1}` {
		t.Errorf("when true: %q", w.Body)
	}
	w = responseThrough(c, "GET", upstream(404, map[string]string{"Content-Type": "application/json", "X-T": "1"}, `1`, 1))
	if w.Body.String() != `1` || ct.get(BodySkippedWhen) != 1 {
		t.Errorf("when false: %q %v", w.Body, ct.m)
	}
}

func TestBodyDefaultMaxBytes(t *testing.T) {
	c, _ := bodyConfig(t, jsonxform.Config{Wrap: "w"}, 0)
	at := `"` + strings.Repeat("a", DefaultBodyMaxBytes-2) + `"`
	if w, s := requestThrough(t, c, jsonRequest(at)); !s.called || len(s.body) != len(at)+6 {
		t.Fatalf("at the default bound: %d", w.Code)
	}
	if w, s := requestThrough(t, c, jsonRequest(at+" ")); s.called || w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("past the default bound: %d", w.Code)
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"application/vnd.api+json": true, "application/problem+json; x=y": true,
		"text/json": false, "application/jsonx": false, "": false, "text/plain": false, "application/json;;": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v", ct, got)
		}
	}
}
