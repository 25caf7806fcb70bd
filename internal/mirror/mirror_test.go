package mirror

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// counts records a target's results.
type counts struct{ n [3]atomic.Int64 }

func (c *counts) count(r Result) { c.n[r].Add(1) }

// wait polls until the counts are sent, dropped, failed (bounded).
func (c *counts) wait(t *testing.T, sent, dropped, failed int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, d, f := c.n[Sent].Load(), c.n[Dropped].Load(), c.n[Failed].Load()
		if s == sent && d == dropped && f == failed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counts sent=%d dropped=%d error=%d, want %d %d %d", s, d, f, sent, dropped, failed)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// copyOf is what a Send handler saw.
type copyOf struct {
	method, path, query, host, body string
	header                          http.Header
}

// recorder is a Send handler that records each copy and answers 204.
func recorder(ch chan<- copyOf) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- copyOf{r.Method, reqinfo.FromContext(r.Context()).Path, r.URL.RawQuery, r.Host, string(b), r.Header}
		w.WriteHeader(http.StatusNoContent)
	})
}

// primary reads the whole body and answers 200 with it.
var primary = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Write(b)
})

func request(method, target, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	return r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: r.URL.EscapedPath(), RequestID: "id-1"}))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestCopyIsTheRequest(t *testing.T) {
	ch := make(chan copyOf, 1)
	var c counts
	h := New(Config{Targets: []Target{{Send: recorder(ch), Count: c.count}}}).Wrap(primary)
	r := request("POST", "http://api.test:8080/v1/users?x=1", `{"a":1}`)
	r.Header.Set("X-Tag", "t")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Expect", "100-continue")
	if w := serve(h, r); w.Body.String() != `{"a":1}` {
		t.Fatalf("primary got %q", w.Body)
	}
	got := <-ch
	if got.method != "POST" || got.path != "/v1/users" || got.query != "x=1" || got.body != `{"a":1}` ||
		got.host != "api.test-shadow:8080" || got.header.Get("X-Tag") != "t" || got.header.Get("Upgrade") != "" || got.header.Get("Expect") != "" {
		t.Fatalf("copy %+v", got)
	}
	c.wait(t, 1, 0, 0)
}

func TestShadowHost(t *testing.T) {
	for in, want := range map[string]string{"": "", "a.test": "a.test-shadow", "a.test:81": "a.test-shadow:81", "[::1]:80": "[::1-shadow]:80"} {
		if got := ShadowHost(in); got != want {
			t.Errorf("%q: %q want %q", in, got, want)
		}
	}
}

// The copy is the request as the action gets it: what the action then
// does to the header (the proxy edits it in place) does not reach it, and
// what a mirror does to its copy does not reach the primary.
func TestHeaderIsolation(t *testing.T) {
	ch := make(chan copyOf, 2)
	edit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { r.Header.Del("X-Tag") })
	mutate := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Tag", "mirror")
		recorder(ch).ServeHTTP(w, r)
	})
	var c counts
	h := New(Config{Targets: []Target{{Send: mutate, Count: c.count}, {Send: recorder(ch), Count: c.count}}}).Wrap(edit)
	r := request("GET", "/", "")
	r.Header.Set("X-Tag", "client")
	serve(h, r)
	c.wait(t, 2, 0, 0)
	for range 2 {
		if got := <-ch; got.header.Get("X-Tag") == "" {
			t.Fatalf("copy lost the header: %v", got.header)
		}
	}
	if r.Header.Get("X-Tag") != "" {
		t.Fatal("a mirror's edit reached the primary")
	}
}

// Sampling is rand()*100 < percent, per target, with the injected source.
func TestPercentSampling(t *testing.T) {
	seq := []float64{0.10, 0.30, 0.24, 0.25, 0.99, 0.0}
	var i atomic.Int64
	next := func() float64 { return seq[int(i.Add(1)-1)%len(seq)] }
	ch := make(chan copyOf, 16)
	var quarter, all counts
	h := New(Config{Rand: next, Targets: []Target{
		{Send: recorder(ch), Percent: 25, Count: quarter.count},
		{Send: recorder(ch), Count: all.count}, // 100: never draws
	}}).Wrap(primary)
	for range len(seq) {
		serve(h, request("GET", "/", ""))
	}
	quarter.wait(t, 3, 0, 0) // 0.10, 0.24, 0.0
	all.wait(t, int64(len(seq)), 0, 0)
	if i.Load() != int64(len(seq)) {
		t.Fatalf("rand drawn %d times, want %d (once per request for the sampled target)", i.Load(), len(seq))
	}
}

// A full target drops (and counts) the copy; the primary is served.
func TestInFlightBound(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 3)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		w.WriteHeader(200)
	})
	var c counts
	h := New(Config{MaxInFlight: 2, Targets: []Target{{Send: slow, Count: c.count}}}).Wrap(primary)
	for range 2 {
		serve(h, request("GET", "/", ""))
	}
	<-started // both slots taken
	<-started
	for range 3 {
		if w := serve(h, request("GET", "/", "")); w.Code != 200 {
			t.Fatalf("primary %d", w.Code)
		}
	}
	c.wait(t, 0, 3, 0)
	close(release)
	c.wait(t, 2, 3, 0)
	// The slots are free again.
	serve(h, request("GET", "/", ""))
	c.wait(t, 3, 3, 0)
}

func TestBodyBound(t *testing.T) {
	ch := make(chan copyOf, 4)
	var c counts
	h := New(Config{MaxBodyBytes: 8, Targets: []Target{{Send: recorder(ch), Count: c.count}}}).Wrap(primary)

	// Declared too large: not buffered at all; the primary gets it whole.
	if w := serve(h, request("POST", "/", "0123456789abcdef")); w.Body.String() != "0123456789abcdef" {
		t.Fatalf("primary got %q", w.Body)
	}
	c.wait(t, 0, 1, 0)

	// Unknown length, too large once streamed.
	r := request("POST", "/", "0123456789abcdef")
	r.ContentLength = -1
	if w := serve(h, r); w.Body.String() != "0123456789abcdef" {
		t.Fatalf("primary got %q", w.Body)
	}
	c.wait(t, 0, 2, 0)

	// Unknown length that fits, and a body exactly at the bound.
	r = request("POST", "/", "0123")
	r.ContentLength = -1
	serve(h, r)
	serve(h, request("POST", "/", "01234567"))
	c.wait(t, 2, 2, 0)
	bodies := map[string]bool{(<-ch).body: true, (<-ch).body: true}
	if !bodies["0123"] || !bodies["01234567"] {
		t.Fatalf("copies got %v", bodies)
	}
}

// A body the action never reads completely is not mirrored (a copy with
// part of it would be a different request).
func TestBodyNotRead(t *testing.T) {
	var c counts
	ignore := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.CopyN(io.Discard, r.Body, 2) })
	h := New(Config{Targets: []Target{{Send: recorder(make(chan copyOf, 1)), Count: c.count}}}).Wrap(ignore)
	serve(h, request("PUT", "/", "0123456789"))
	c.wait(t, 0, 1, 0)
}

// The primary never waits for a copy: a mirror that has not answered (here:
// never until the test ends) does not hold the primary's response.
func TestPrimaryDoesNotWait(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-stuck })
	h := New(Config{Targets: []Target{{Send: hang}}}).Wrap(primary)
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(h, request("POST", "/", "body")) }()
	select {
	case w := <-done:
		if w.Body.String() != "body" {
			t.Fatalf("primary got %q", w.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the primary waited for its mirror")
	}
}

// A copy that got no answer is counted as an error, whatever way the
// sender failed: the proxy's UpstreamError, no status at all, a panic.
func TestFailures(t *testing.T) {
	upstreamErr := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqinfo.FromContext(r.Context()).UpstreamError = "connection refused"
		w.WriteHeader(502)
	})
	silent := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	abort := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		panic(http.ErrAbortHandler)
	})
	var c counts
	h := New(Config{Targets: []Target{{Send: upstreamErr, Count: c.count}, {Send: silent, Count: c.count}, {Send: abort, Count: c.count}}}).Wrap(primary)
	if w := serve(h, request("GET", "/", "")); w.Code != 200 {
		t.Fatalf("primary %d", w.Code)
	}
	c.wait(t, 0, 0, 3)
}

// A copy outlives its primary: the primary's context ending does not
// cancel it; its own timeout does.
func TestCopyContext(t *testing.T) {
	deadline := make(chan time.Duration, 1)
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		d, _ := r.Context().Deadline()
		deadline <- time.Until(d)
	})
	var c counts
	h := New(Config{Timeout: 50 * time.Millisecond, Targets: []Target{{Send: probe, Count: c.count}}}).Wrap(primary)
	r := request("GET", "/", "")
	ctx, cancel := context.WithCancel(r.Context())
	serve(h, r.WithContext(ctx))
	cancel()
	if left := <-deadline; left > 0 {
		t.Fatalf("copy ended %v before its deadline: canceled with the primary", left)
	}
	c.wait(t, 0, 0, 1)
}
