package proxy

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestStreamingResponsesFlush sends one event and then holds the response
// open: the client must get the event while the upstream is still
// writing, which only happens if the proxy flushes per write.
func TestStreamingResponsesFlush(t *testing.T) {
	cases := map[string]func(w http.ResponseWriter){
		"SSE": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream")
		},
		"SSE with a length": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
			w.Header().Set("Content-Length", "4096")
		},
		"unknown length": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/octet-stream")
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			release := make(chan struct{})
			up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
				setup(w)
				io.WriteString(w, "data: 1\n\n")
				w.(http.Flusher).Flush()
				<-release
				if n, _ := w.Header()["Content-Length"]; n != nil {
					io.WriteString(w, strings.Repeat("x", 4096-9))
				}
			})
			defer close(release)
			s := front(t, Options{Pool: newPool(t, up.URL)})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("header not delivered while the stream is open: %v", err)
			}
			defer res.Body.Close()
			line := make(chan string, 1)
			go func() {
				l, _ := bufio.NewReader(res.Body).ReadString('\n')
				line <- l
			}()
			select {
			case l := <-line:
				if l != "data: 1\n" {
					t.Fatalf("read %q", l)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("first event not delivered while the stream is open")
			}
		})
	}
}

// patternReader yields left bytes without holding them. It leaves the
// caller's buffer as it is: the content does not matter, and filling it
// byte by byte is slow under the race detector.
type patternReader struct{ left int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	p.left -= int64(len(b))
	return len(b), nil
}

// peakHeap samples the heap until stop is closed and returns the growth
// over the starting point.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak - base
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	const size = 200 << 20
	var received atomic.Int64
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	for _, length := range []int64{size, -1} { // Content-Length and chunked
		stop := make(chan struct{})
		growth := peakHeap(stop)
		req, _ := http.NewRequest("POST", s.URL, &patternReader{left: size})
		req.ContentLength = length
		res, err := http.DefaultClient.Do(req)
		close(stop)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || received.Load() != size {
			t.Fatalf("length %d: status %d, upstream got %d bytes", length, res.StatusCode, received.Load())
		}
		if g := <-growth; g > 32<<20 {
			t.Fatalf("length %d: heap grew %d MB while proxying 200 MB", length, g>>20)
		}
	}
}

func TestLargeDownloadStreams(t *testing.T) {
	const size = 64 << 20
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, &patternReader{left: size})
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	stop := make(chan struct{})
	growth := peakHeap(stop)
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	close(stop)
	res.Body.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes, %v", n, err)
	}
	if g := <-growth; g > 16<<20 {
		t.Fatalf("heap grew %d MB while proxying 64 MB", g>>20)
	}
}

// TestUpstreamFailureMidBodyAborts: once the client has the header, an
// upstream failure must cut the client's connection. A clean end of the
// chunked body would pass a truncated response off as complete.
func TestUpstreamFailureMidBodyAborts(t *testing.T) {
	cases := map[string]struct {
		o       Options
		handler http.HandlerFunc
	}{
		"upstream aborts": {handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}},
		// The header and the first bytes must arrive before the route
		// timeout cuts the body: 1s leaves room for a loaded machine.
		"route timeout": {o: Options{Timeout: time.Second}, handler: func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			up := upstream(t, tc.handler)
			var hits counter
			o := tc.o
			o.Pool, o.OnUpstreamError = newPool(t, up.URL), hits.hook
			s := front(t, o)
			res, err := http.Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err == nil || string(b) != "partial" {
				t.Fatalf("read %q, %v: want the partial body and an error", b, err)
			}
			if hits.total() != 1 {
				t.Fatalf("OnUpstreamError calls %d", hits.total())
			}
		})
	}
}

func TestTrailers(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.(http.Flusher).Flush()
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || string(b) != "body" {
		t.Fatalf("body %q, %v", b, err)
	}
	if res.Trailer.Get("X-Sum") != "42" || res.Trailer.Get("X-Late") != "late" {
		t.Fatalf("trailers %v", res.Trailer)
	}
}

func TestCopyBodyDoesNotAllocate(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100<<10)
	var src bytes.Reader
	allocs := testing.AllocsPerRun(50, func() {
		src.Reset(data)
		copyBody(io.Discard, &src, nil)
	})
	if allocs != 0 {
		t.Fatalf("copyBody allocates %.1f times per call; its buffer should come from the pool", allocs)
	}
}

// wrappedWriter hides the Flusher of the writer it wraps, as middleware
// that records the status does, but offers Unwrap.
type wrappedWriter struct{ http.ResponseWriter }

func (w wrappedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type opaqueWriter struct{ http.ResponseWriter }

func TestFlusherThroughWrappers(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush()
		<-release
	})
	p := New(Options{Pool: newPool(t, up.URL), Transport: testTransport(t)})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.ServeHTTP(wrappedWriter{wrappedWriter{w}}, r)
	}))
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("header not flushed through the wrappers: %v", err)
	}
	defer res.Body.Close()
	if l, err := bufio.NewReader(res.Body).ReadString('\n'); l != "data: 1\n" {
		t.Fatalf("read %q, %v", l, err)
	}
	if flusherOf(opaqueWriter{httptest.NewRecorder()}) != nil {
		t.Fatal("flusher found in a writer that has none")
	}
}
