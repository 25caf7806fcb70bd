package proxy

import (
	"bytes"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// statusUpstream answers every request with status and a body naming the
// upstream, after reading the whole request body.
func statusUpstream(t *testing.T, status int, name string) string {
	return upstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		io.WriteString(w, name)
	}).URL
}

// hookCount counts calls of a func() hook.
type hookCount struct{ n atomic.Int64 }

func (c *hookCount) hook()      { c.n.Add(1) }
func (c *hookCount) get() int64 { return c.n.Load() }

// do sends method with body (nil for none; a length of -1 forces chunked)
// to s and returns the status, the body and the request's Info.
func do(t *testing.T, s string, infos <-chan *reqinfo.Info, method string, body []byte, length int64) (int, string, *reqinfo.Info) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
		if length < 0 {
			rd = io.MultiReader(rd) // hides the length from NewRequest
		}
	}
	req, _ := http.NewRequest(method, s, rd)
	if length < 0 {
		req.ContentLength = -1
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b), <-infos
}

func TestRetryOnStatus(t *testing.T) {
	a, b := statusUpstream(t, 503, "A"), statusUpstream(t, 200, "B")
	var hits counter
	var retries hookCount
	pool := newPool(t, a, b) // round robin: A first
	s, infos := infoFront(t, Options{Pool: pool, OnUpstreamError: hits.hook, OnRetry: retries.hook,
		Retry: &RetryPolicy{Attempts: 3, On: []string{"503"}}}, reqinfo.Info{})
	status, body, info := do(t, s.URL, infos, "GET", nil, 0)
	if status != 200 || body != "B" || info.Attempts != 2 || info.Target != pool.Targets()[1].Addr || info.UpstreamError != "" {
		t.Fatalf("status %d body %q info %+v", status, body, info)
	}
	if retries.get() != 1 || hits.get(pool.Targets()[0].Addr) != 1 || hits.total() != 1 {
		t.Fatalf("OnRetry %d, OnUpstreamError %v", retries.get(), hits.n)
	}
	for _, tg := range pool.Targets() {
		if tg.InFlight() != 0 {
			t.Fatalf("%s in flight %d", tg.Addr, tg.InFlight())
		}
	}
}

func TestRetryLastAttemptIsRelayed(t *testing.T) {
	a, b := statusUpstream(t, 503, "A"), statusUpstream(t, 502, "B")
	for name, on := range map[string][]string{"5xx": {"5xx"}, "statuses": {"502", "503"}} {
		t.Run(name, func(t *testing.T) {
			s, infos := infoFront(t, Options{Pool: newPool(t, a, b), Retry: &RetryPolicy{Attempts: 2, On: on}}, reqinfo.Info{})
			// Two attempts, two targets: the second answer is the client's.
			if status, body, info := do(t, s.URL, infos, "GET", nil, 0); status != 502 || body != "B" || info.Attempts != 2 {
				t.Fatalf("status %d body %q attempts %d", status, body, info.Attempts)
			}
		})
	}
}

func TestRetryStatusNotListed(t *testing.T) {
	a, b := statusUpstream(t, 500, "A"), statusUpstream(t, 200, "B")
	for name, p := range map[string]*RetryPolicy{
		"default policy":     nil,
		"other status":       {On: []string{"503"}},
		"error conditions":   {On: []string{"connect-failure", "reset", "timeout"}},
		"single attempt":     {Attempts: 1, On: []string{"5xx"}},
		"unknown conditions": {On: []string{"500s", "bogus"}},
	} {
		t.Run(name, func(t *testing.T) {
			s, infos := infoFront(t, Options{Pool: newPool(t, a, b), Retry: p}, reqinfo.Info{})
			if status, body, info := do(t, s.URL, infos, "GET", nil, 0); status != 500 || body != "A" || info.Attempts != 1 {
				t.Fatalf("status %d body %q attempts %d", status, body, info.Attempts)
			}
		})
	}
}

func TestRetryNonIdempotent(t *testing.T) {
	a, b := statusUpstream(t, 503, "A"), statusUpstream(t, 200, "B")
	for _, tc := range []struct {
		name     string
		opt      bool
		method   string
		body     []byte
		status   int
		attempts int
	}{
		{"POST by default", false, "POST", nil, 503, 1},
		{"PATCH with body by default", false, "PATCH", []byte("x"), 503, 1},
		{"POST opted in", true, "POST", nil, 200, 2},
		{"POST with body opted in", true, "POST", []byte("payload"), 200, 2},
		{"PUT by default", false, "PUT", nil, 200, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, infos := infoFront(t, Options{Pool: newPool(t, a, b),
				Retry: &RetryPolicy{On: []string{"5xx"}, RetryNonIdempotent: tc.opt}}, reqinfo.Info{})
			if status, _, info := do(t, s.URL, infos, tc.method, tc.body, int64(len(tc.body))); status != tc.status || info.Attempts != tc.attempts {
				t.Fatalf("status %d attempts %d", status, info.Attempts)
			}
		})
	}
}

func TestRetryConnectFailureAnyMethod(t *testing.T) {
	// The target never saw the request: safe to send elsewhere, even a
	// POST whose body is larger than the replay buffer.
	up, got := recorder(t)
	body := bytes.Repeat([]byte("0123456789"), 1000)
	s, infos := infoFront(t, Options{Pool: newPool(t, "http://"+closedAddr(t), up.URL),
		Retry: &RetryPolicy{On: []string{"connect-failure"}, BufferBytes: 100}}, reqinfo.Info{})
	if status, _, info := do(t, s.URL, infos, "POST", body, int64(len(body))); status != 200 || info.Attempts != 2 {
		t.Fatalf("status %d attempts %d", status, info.Attempts)
	}
	if c := <-got; c.body != string(body) {
		t.Fatalf("upstream got %d bytes", len(c.body))
	}
}

func TestRetryReplaysBody(t *testing.T) {
	// A reads the whole body before answering 503, so the retry can only
	// send it from the replay buffer.
	var aGot atomic.Int64
	a := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		aGot.Store(n)
		w.WriteHeader(503)
	}).URL
	type seen struct {
		n   int
		sum [32]byte
	}
	bGot := make(chan seen, 1)
	b := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		bGot <- seen{len(data), sha256.Sum256(data)}
	}).URL

	const limit = 8 << 10
	small := make([]byte, limit) // exactly the buffer: still replayable
	for i := range small {
		small[i] = byte(i * 7)
	}
	big := bytes.Repeat([]byte{'x'}, limit+1)
	for _, tc := range []struct {
		name     string
		body     []byte
		length   int64
		status   int
		attempts int
	}{
		{"fits, Content-Length", small, int64(len(small)), 200, 2},
		{"fits, chunked", small, -1, 200, 2},
		{"too big, Content-Length", big, int64(len(big)), 503, 1},
		{"too big, chunked", big, -1, 503, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, infos := infoFront(t, Options{Pool: newPool(t, a, b),
				Retry: &RetryPolicy{On: []string{"503"}, BufferBytes: limit}}, reqinfo.Info{})
			status, _, info := do(t, s.URL, infos, "PUT", tc.body, tc.length)
			if status != tc.status || info.Attempts != tc.attempts {
				t.Fatalf("status %d attempts %d", status, info.Attempts)
			}
			if aGot.Load() != int64(len(tc.body)) {
				t.Fatalf("A read %d of %d bytes", aGot.Load(), len(tc.body))
			}
			if tc.status == 200 {
				if got := <-bGot; got.n != len(tc.body) || got.sum != sha256.Sum256(tc.body) {
					t.Fatalf("B got %d bytes, not the client's %d", got.n, len(tc.body))
				}
			}
		})
	}
}

func TestReplayBodyBounded(t *testing.T) {
	src := &requestBody{body: io.NopCloser(strings.NewReader("abcdefghij"))}
	rb := &replayBody{src: src, limit: 6}
	first := rb.first()
	p := make([]byte, 4)
	if n, _ := first.Read(p); n != 4 || !rb.replayable() {
		t.Fatalf("read %d, replayable %v", n, rb.replayable())
	}
	second := rb.rewind()
	if second == nil {
		t.Fatal("4 of 6 bytes read: must rewind")
	}
	if _, err := first.Read(p); err != errStaleAttempt {
		t.Fatalf("abandoned attempt read: %v", err)
	}
	got, _ := io.ReadAll(second) // "abcd" from the buffer, the rest from the client
	if string(got) != "abcdefghij" {
		t.Fatalf("replayed %q", got)
	}
	if rb.replayable() || rb.buf != nil || rb.rewind() != nil {
		t.Fatal("10 bytes read past a 6-byte buffer: must not replay, must not keep the copy")
	}
}

func TestRetryPerTryTimeout(t *testing.T) {
	slow := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}).URL
	fast := statusUpstream(t, 200, "fast")
	t.Run("retried", func(t *testing.T) {
		var hits counter
		pool := newPool(t, slow, fast)
		// The per-try timeout also bounds the fast target's answer: 500ms,
		// not less, so a loaded machine does not time that one out too.
		s, infos := infoFront(t, Options{Pool: pool, OnUpstreamError: hits.hook,
			Retry: &RetryPolicy{On: []string{"timeout"}, PerTryTimeout: 500 * time.Millisecond}}, reqinfo.Info{})
		start := time.Now()
		status, body, info := do(t, s.URL, infos, "GET", nil, 0)
		if status != 200 || body != "fast" || info.Attempts != 2 || hits.get(pool.Targets()[0].Addr) != 1 {
			t.Fatalf("status %d body %q attempts %d errors %v", status, body, info.Attempts, hits.n)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("not listed", func(t *testing.T) {
		s, infos := infoFront(t, Options{Pool: newPool(t, slow, fast),
			Retry: &RetryPolicy{On: []string{"5xx"}, PerTryTimeout: 100 * time.Millisecond}}, reqinfo.Info{})
		if status, _, info := do(t, s.URL, infos, "GET", nil, 0); status != 504 || info.Attempts != 1 {
			t.Fatalf("status %d attempts %d", status, info.Attempts)
		}
	})
	t.Run("does not cut a relayed body", func(t *testing.T) {
		// The header comes in time; the body takes longer than the per-try
		// timeout, which no longer applies.
		trickle := upstream(t, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "head ")
			w.(http.Flusher).Flush()
			time.Sleep(1200 * time.Millisecond) // a time to outlast, not an event to wait for
			io.WriteString(w, "tail")
		}).URL
		// The header must arrive within the per-try timeout (500ms, room
		// for a loaded machine); the body then outlasts it.
		s, infos := infoFront(t, Options{Pool: newPool(t, trickle),
			Retry: &RetryPolicy{On: []string{"timeout"}, PerTryTimeout: 500 * time.Millisecond}}, reqinfo.Info{})
		if status, body, _ := do(t, s.URL, infos, "GET", nil, 0); status != 200 || body != "head tail" {
			t.Fatalf("status %d body %q", status, body)
		}
	})
}

func TestRetryClientBodyErrorNotRetried(t *testing.T) {
	up, _ := recorder(t)
	var retries hookCount
	s, infos := infoFront(t, Options{Pool: newPool(t, up.URL, up.URL), OnRetry: retries.hook,
		Retry: &RetryPolicy{Attempts: 3, On: []string{"connect-failure", "reset", "timeout", "5xx"}, RetryNonIdempotent: true}}, reqinfo.Info{})
	res, _, _ := raw(t, hostOf(s), "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
	decodeProblem(t, res, 400)
	if info := <-infos; info.Attempts != 1 || retries.get() != 0 {
		t.Fatalf("attempts %d, retries %d", info.Attempts, retries.get())
	}
}

func TestRetryLogsReason(t *testing.T) {
	logs := &logRecords{}
	s, infos := infoFront(t, Options{Pool: newPool(t, statusUpstream(t, 503, "A"), statusUpstream(t, 200, "B")),
		Logger: slog.New(logs), Retry: &RetryPolicy{On: []string{"503"}}}, reqinfo.Info{RequestID: "rid"})
	do(t, s.URL, infos, "GET", nil, 0)
	var found bool
	for _, rec := range logs.attrs() {
		if rec["msg"] == "proxy: retrying" {
			found = rec["level"] == "DEBUG" && rec["reason"] == "503" && rec["request_id"] == "rid"
		}
	}
	if !found {
		t.Fatalf("no debug retry record with the reason: %v", logs.attrs())
	}
}

func TestBackoff(t *testing.T) {
	var asked []int64
	top := func(n int64) int64 { asked = append(asked, n); return n - 1 }
	base, maxWait := 25*time.Millisecond, 250*time.Millisecond
	want := []time.Duration{25, 50, 100, 200, 250, 250}
	for i, w := range want {
		if got := backoff(base, maxWait, i+1, top); got != w*time.Millisecond-1 {
			t.Fatalf("retry %d: %v, want just under %v", i+1, got, w*time.Millisecond)
		}
	}
	for _, n := range []int{63, 64, 1000} { // no overflow for absurd counts
		if got := backoff(base, maxWait, n, top); got != maxWait-1 {
			t.Fatalf("retry %d: %v", n, got)
		}
	}
	if got := backoff(base, maxWait, 3, func(int64) int64 { return 0 }); got != 0 {
		t.Fatalf("full jitter reaches 0, got %v", got)
	}
	if got := backoff(0, 0, 1, top); got != 0 {
		t.Fatalf("no backoff configured: %v", got)
	}
	for i := 0; i < 1000; i++ { // the real source stays in [0, cap)
		if got := backoff(base, maxWait, 2, randN); got < 0 || got >= 50*time.Millisecond {
			t.Fatalf("jitter %v out of [0, 50ms)", got)
		}
	}
}

func TestBudgetArithmetic(t *testing.T) {
	for _, tc := range []struct {
		ratio  float64
		min    int
		active int64
		limit  int64
	}{
		{0.2, 3, 0, 3}, {0.2, 3, 10, 3}, {0.2, 3, 20, 4}, {0.2, 3, 24, 4},
		{0.2, 0, 10, 2}, {0.2, 0, 4, 0}, {0.2, 0, 9, 1}, {0.2, 0, 5, 1},
		{0.1, 0, 30, 3}, {1, 0, 7, 7}, {0, 2, 100, 2}, {-1, 0, 100, 0},
	} {
		if got := NewBudget(tc.ratio, tc.min).limit(tc.active); got != tc.limit {
			t.Errorf("NewBudget(%v, %d) with %d active: limit %d, want %d", tc.ratio, tc.min, tc.active, got, tc.limit)
		}
	}
	b := NewBudget(0.2, 0)
	for i := 0; i < 10; i++ {
		b.begin()
	}
	if !b.tryRetry() || !b.tryRetry() || b.tryRetry() {
		t.Fatal("10 active at 20%: exactly 2 retries")
	}
	retrying, idle := true, false
	b.end(&retrying) // a retrying request ends: 9 active (limit 1), 1 retry
	if b.Active() != 9 || b.Retries() != 1 || b.tryRetry() {
		t.Fatalf("active %d retries %d: a retry over the limit", b.Active(), b.Retries())
	}
	b.begin() // 10 active again: room for a second
	if !b.tryRetry() || b.Retries() != 2 {
		t.Fatalf("active %d retries %d", b.Active(), b.Retries())
	}
	b.end(&idle)
	if b.Active() != 9 || b.Retries() != 2 {
		t.Fatalf("active %d retries %d", b.Active(), b.Retries())
	}
}

func TestRetryBudget(t *testing.T) {
	// 10 concurrent requests all fail at once; at 20% of 10 active, only 2
	// may retry. Retries block until the end so they stay in flight.
	const clients = 10
	var arrived atomic.Int64
	barrier, release := make(chan struct{}), make(chan struct{})
	h := func(w http.ResponseWriter, r *http.Request) {
		if n := arrived.Add(1); n <= clients {
			if n == clients {
				close(barrier)
			}
			<-barrier
		} else {
			<-release
		}
		w.WriteHeader(503)
	}
	var retries, exhausted hookCount
	budget := NewBudget(0.2, 0)
	s, infos := infoFront(t, Options{Pool: newPool(t, upstream(t, h).URL, upstream(t, h).URL),
		OnRetry: retries.hook, OnBudgetExhausted: exhausted.hook,
		Retry: &RetryPolicy{Attempts: 2, On: []string{"503"}, BackoffBase: time.Millisecond, Budget: budget}}, reqinfo.Info{})
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(s.URL)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
		}()
	}
	// The 8 without a retry answer; the 2 retries wait on release.
	attempts := map[int]int{}
	for i := 0; i < clients-2; i++ {
		attempts[(<-infos).Attempts]++
	}
	if retries.get() != 2 || exhausted.get() != clients-2 || attempts[1] != clients-2 || budget.Retries() != 2 {
		t.Fatalf("retries %d, budget exhausted %d, attempts %v, budget retries %d", retries.get(), exhausted.get(), attempts, budget.Retries())
	}
	close(release)
	wg.Wait()
	for i := 0; i < 2; i++ {
		if a := (<-infos).Attempts; a != 2 {
			t.Fatalf("attempts %d", a)
		}
	}
	if retries.get() != 2 || budget.Retries() != 0 || budget.Active() != 0 {
		t.Fatalf("retries %d; budget left with %d retries, %d active", retries.get(), budget.Retries(), budget.Active())
	}
}

func TestRetryBackoffRespectsContext(t *testing.T) {
	// A long backoff and a client that leaves: the handler must return at
	// once rather than sleep it out.
	a := statusUpstream(t, 503, "A")
	b, got := recorder(t)
	s, infos := infoFront(t, Options{Pool: newPool(t, a, b.URL),
		Retry: &RetryPolicy{On: []string{"503"}, BackoffBase: time.Hour, BackoffMax: time.Hour}}, reqinfo.Info{})
	_ = got
	req, _ := http.NewRequest("GET", s.URL, nil)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Do(req); err == nil {
		t.Fatal("want a client timeout")
	}
	select {
	case info := <-infos:
		if info.Attempts != 1 {
			t.Fatalf("attempts %d", info.Attempts)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("handler still sleeping after the client left")
	}
}

func TestRetryNotBeyondRouteTimeout(t *testing.T) {
	// A backoff that would outlast the route timeout is not waited for: the
	// client gets the attempt's answer, not a 504.
	s, infos := infoFront(t, Options{Pool: newPool(t, statusUpstream(t, 503, "A"), statusUpstream(t, 200, "B")),
		Timeout: 2 * time.Second,
		Retry:   &RetryPolicy{On: []string{"503"}, BackoffBase: time.Hour, BackoffMax: time.Hour}}, reqinfo.Info{})
	if status, body, info := do(t, s.URL, infos, "GET", nil, 0); status != 503 || body != "A" || info.Attempts != 1 {
		t.Fatalf("status %d body %q attempts %d", status, body, info.Attempts)
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	good := RetryPolicy{Attempts: 3, On: []string{"connect-failure", "reset", "timeout", "5xx", "502", "429"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []RetryPolicy{{Attempts: -1}, {On: []string{"5XX"}}, {On: []string{"200"}}, {On: []string{"0503"}}, {PerTryTimeout: -1}} {
		if p.Validate() == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
}

// BenchmarkBudget measures the retry budget's hot path: the active count
// every request keeps, and taking and returning a retry.
func BenchmarkBudget(b *testing.B) {
	budget := NewBudget(0.2, 3)
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			retrying := false
			for pb.Next() {
				budget.begin()
				budget.end(&retrying)
			}
		})
	})
	b.Run("retry", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				budget.begin()
				retrying := budget.tryRetry()
				budget.end(&retrying)
			}
		})
	})
}

// TestRetrySameTarget: with SameTarget a pool of one target is retried
// on it (Gateway API retries a request, not a target); without it the
// first failure stands. BackoffMin holds between the attempts.
func TestRetrySameTarget(t *testing.T) {
	var mu sync.Mutex
	var seen []time.Time
	u := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, time.Now())
		n := len(seen)
		mu.Unlock()
		if n < 3 {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "ok")
	}).URL
	reset := func() { mu.Lock(); seen = nil; mu.Unlock() }

	s, infos := infoFront(t, Options{Pool: newPool(t, u), Retry: &RetryPolicy{Attempts: 3, On: []string{"500"}}}, reqinfo.Info{})
	if status, _, info := do(t, s.URL, infos, "GET", nil, 0); status != 500 || info.Attempts != 1 {
		t.Fatalf("without SameTarget: status %d attempts %d, want 500 after 1", status, info.Attempts)
	}

	reset()
	const minWait = 30 * time.Millisecond
	s, infos = infoFront(t, Options{Pool: newPool(t, u), Retry: &RetryPolicy{Attempts: 3, On: []string{"500"}, SameTarget: true, BackoffMin: minWait}}, reqinfo.Info{})
	status, body, info := do(t, s.URL, infos, "GET", nil, 0)
	if status != 200 || body != "ok" || info.Attempts != 3 {
		t.Fatalf("with SameTarget: status %d body %q attempts %d, want 200 after 3", status, body, info.Attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(seen); i++ {
		if d := seen[i].Sub(seen[i-1]); d < minWait {
			t.Errorf("attempt %d came %v after the previous one, want at least %v", i+1, d, minWait)
		}
	}
}
