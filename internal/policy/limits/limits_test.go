package limits

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/problem"
)

func mustNew(t testing.TB, cfg Config) *Limits {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func wantProblem(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d (body %q)", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q", ct)
	}
	var d problem.Details
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || d.Status != status {
		t.Fatalf("body %q: %v", w.Body, err)
	}
}

func TestNewRefusesNegative(t *testing.T) {
	for _, cfg := range []Config{{MaxBodyBytes: -1}, {MaxHeaderCount: -1}, {MaxHeaderBytes: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// chunked returns a request whose body has no declared length, as a
// chunked HTTP/1.1 request has.
func chunked(body string) *http.Request {
	r := httptest.NewRequest("POST", "/up", io.NopCloser(strings.NewReader(body)))
	r.ContentLength = -1
	r.TransferEncoding = []string{"chunked"}
	return r
}

func TestHeaderLimits(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	newReq := func(n int) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = "h" // Host: 4+1 bytes, one field
		for i := 0; i < n; i++ {
			r.Header.Add("X-A", "vv") // 5 bytes each
		}
		return r
	}
	cases := []struct {
		cfg  Config
		n    int
		want int
	}{
		{Config{MaxHeaderCount: 3}, 2, 299},
		{Config{MaxHeaderCount: 3}, 3, 431}, // Host counts
		{Config{MaxHeaderBytes: 15}, 2, 299},
		{Config{MaxHeaderBytes: 15}, 3, 431},
		{Config{}, 100, 299},
	}
	for _, c := range cases {
		called := false
		h := mustNew(t, c.cfg).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			called = true
			ok(w, r)
		}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, newReq(c.n))
		if c.want == 431 {
			wantProblem(t, w, 431)
			if called {
				t.Fatalf("%+v n=%d: next called", c.cfg, c.n)
			}
		} else if w.Code != c.want {
			t.Fatalf("%+v n=%d: status %d", c.cfg, c.n, w.Code)
		}
	}
}

func TestDeclaredLengthOverLimit(t *testing.T) {
	called := false
	h := mustNew(t, Config{MaxBodyBytes: 10}).Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/", strings.NewReader("01234567890")))
	wantProblem(t, w, 413)
	if called {
		t.Fatal("next called")
	}
	if w.Header().Get("Connection") != "close" {
		t.Fatal("connection not closed")
	}
}

func TestDeclaredLengthWithinLimitNotWrapped(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("0123456789"))
	orig := r.Body
	h := mustNew(t, Config{MaxBodyBytes: 10}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != orig {
			t.Error("body wrapped")
		}
		if _, ok := w.(*httptest.ResponseRecorder); !ok {
			t.Error("writer wrapped")
		}
		b, err := io.ReadAll(r.Body)
		if err != nil || string(b) != "0123456789" {
			t.Errorf("read %q %v", b, err)
		}
		w.WriteHeader(299)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 299 {
		t.Fatalf("status %d", w.Code)
	}
}

func TestChunkedOverLimit(t *testing.T) {
	var readErr error
	var got []byte
	h := mustNew(t, Config{MaxBodyBytes: 10}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, readErr = io.ReadAll(r.Body)
		if readErr != nil {
			// What a proxy does on a body read error.
			problem.Write(w, r, http.StatusBadRequest, "the request body could not be read")
		}
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, chunked(strings.Repeat("x", 25)))
	if !errors.Is(readErr, ErrBodyTooLarge) {
		t.Fatalf("read error %v", readErr)
	}
	var tl *TooLargeError
	if !errors.As(readErr, &tl) || tl.Limit != 10 {
		t.Fatalf("error %#v", readErr)
	}
	if len(got) != 10 {
		t.Fatalf("read %d bytes before the error, want 10", len(got))
	}
	wantProblem(t, w, 413)
	if w.Header().Get("Connection") != "close" {
		t.Fatal("connection not closed")
	}
}

func TestChunkedAtLimit(t *testing.T) {
	h := mustNew(t, Config{MaxBodyBytes: 10}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || len(b) != 10 {
			t.Errorf("read %d %v", len(b), err)
		}
		// Reads after EOF stay at EOF.
		if n, err := r.Body.Read(make([]byte, 4)); n != 0 || err != io.EOF {
			t.Errorf("read after EOF: %d %v", n, err)
		}
		w.WriteHeader(299)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, chunked(strings.Repeat("x", 10)))
	if w.Code != 299 {
		t.Fatalf("status %d", w.Code)
	}
}

// A handler that gives up on the body without answering still yields 413.
func TestChunkedOverLimitSilentHandler(t *testing.T) {
	h := mustNew(t, Config{MaxBodyBytes: 3}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, chunked("abcdef"))
	wantProblem(t, w, 413)
}

// Once the response has started it cannot be replaced.
func TestChunkedOverLimitAfterResponseStarted(t *testing.T) {
	var readErr error
	h := mustNew(t, Config{MaxBodyBytes: 3}).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		_, readErr = io.ReadAll(r.Body)
		io.WriteString(w, "-more")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, chunked("abcdef"))
	if !errors.Is(readErr, ErrBodyTooLarge) {
		t.Fatalf("read error %v", readErr)
	}
	if w.Code != 200 || w.Body.String() != "partial-more" {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
}

// End to end through a reverse proxy over loopback: the body is read by
// the transport's goroutine, and the proxy's error answer becomes 413.
func TestChunkedThroughProxy(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(299)
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		problem.Write(w, r, http.StatusBadGateway, "upstream failed")
	}
	gw := httptest.NewServer(mustNew(t, Config{MaxBodyBytes: 1 << 10}).Wrap(rp))
	defer gw.Close()

	send := func(n int) *http.Response {
		t.Helper()
		// A reader of unknown length makes the client send chunked.
		body := io.MultiReader(strings.NewReader(strings.Repeat("y", n)))
		req, _ := http.NewRequest("POST", gw.URL, body)
		res, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	if res := send(1 << 10); res.StatusCode != 299 {
		t.Fatalf("at limit: status %d", res.StatusCode)
	}
	res := send(64 << 10)
	if res.StatusCode != http.StatusRequestEntityTooLarge || res.Header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("over limit: status %d type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func BenchmarkPassThrough(b *testing.B) {
	h := mustNew(b, Config{MaxBodyBytes: 1 << 20, MaxHeaderCount: 100, MaxHeaderBytes: 64 << 10}).
		Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("POST", "/", strings.NewReader("hello"))
	for _, k := range []string{"Accept", "User-Agent", "Authorization", "Content-Type", "X-Request-Id", "Cookie"} {
		r.Header.Set(k, "some value of a typical length")
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(nil, r)
	}
}

func BenchmarkChunkedWrapped(b *testing.B) {
	h := mustNew(b, Config{MaxBodyBytes: 1 << 20}).
		Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := chunked("")
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(nil, r)
	}
}
