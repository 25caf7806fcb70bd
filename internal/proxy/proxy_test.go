package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// captured is what an upstream saw of one request.
type captured struct {
	host, uri string
	header    http.Header
	body      string
}

// recorder is an upstream that reports each request it gets on a channel.
func recorder(t testing.TB) (*httptest.Server, <-chan captured) {
	ch := make(chan captured, 16)
	s := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- captured{host: r.Host, uri: r.RequestURI, header: r.Header.Clone(), body: string(b)}
		io.WriteString(w, "upstream")
	})
	return s, ch
}

// infoFront starts the proxy behind a server whose middleware gives each
// request a copy of base as its Info and reports that Info once the proxy
// handler has returned.
func infoFront(t testing.TB, o Options, base reqinfo.Info) (*httptest.Server, <-chan *reqinfo.Info) {
	t.Helper()
	if o.Transport == nil {
		o.Transport = testTransport(t)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	ch := make(chan *reqinfo.Info, 16)
	p := New(o)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := base
		w.Header().Set("X-Request-Id", info.RequestID)
		defer func() { ch <- &info }()
		p.ServeHTTP(w, r.WithContext(reqinfo.NewContext(r.Context(), &info)))
	}))
	t.Cleanup(s.Close)
	return s, ch
}

func TestTargetComesFromPoolNotRequest(t *testing.T) {
	up, got := recorder(t)
	pool := newPool(t, up.URL)
	s, infos := infoFront(t, Options{Route: "r", Pool: pool}, reqinfo.Info{Path: "/norm/p%C3%A9", RequestID: "rid"})

	// Absolute form naming another authority, a path the gateway
	// normalised differently and a raw query: the pool picks the target,
	// Info.Path is the path, the query passes untouched, Host is preserved.
	res, _, _ := raw(t, hostOf(s), "GET http://evil.invalid:1/a/../norm/p%c3%a9?q=1&b=%zz HTTP/1.1\r\nHost: evil.invalid:1\r\n\r\n")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	c := <-got
	if c.host != "evil.invalid:1" || c.uri != "/norm/p%C3%A9?q=1&b=%zz" {
		t.Fatalf("upstream saw Host %q URI %q", c.host, c.uri)
	}
	info := <-infos
	if info.Target != pool.Targets()[0].Addr || info.Attempts != 1 || info.UpstreamError != "" {
		t.Fatalf("info %+v", info)
	}

	res, _, _ = raw(t, hostOf(s), "GET /x HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
	if c := <-got; res.StatusCode != 200 || c.host != "api.example.com" || c.uri != "/norm/p%C3%A9" {
		t.Fatalf("status %d, upstream saw Host %q URI %q", res.StatusCode, c.host, c.uri)
	}
}

func TestWithoutInfoUsesRequestPath(t *testing.T) {
	up, got := recorder(t)
	s := front(t, Options{Pool: newPool(t, up.URL)})
	res, _, _ := raw(t, hostOf(s), "GET /a%2Fb/c?x=%41 HTTP/1.1\r\nHost: h\r\n\r\n")
	if c := <-got; res.StatusCode != 200 || c.uri != "/a%2Fb/c?x=%41" {
		t.Fatalf("status %d, uri %q", res.StatusCode, c.uri)
	}
}

func TestTargetInFlightDuringAttempt(t *testing.T) {
	var pool *balancer.Pool
	inflight := make(chan int64, 1)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		inflight <- pool.Targets()[0].InFlight()
	})
	pool = newPool(t, up.URL)
	s, infos := infoFront(t, Options{Pool: pool}, reqinfo.Info{})
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	<-infos // the handler has returned
	if n := <-inflight; n != 1 {
		t.Fatalf("in flight during the request: %d", n)
	}
	if n := pool.Targets()[0].InFlight(); n != 0 {
		t.Fatalf("in flight after the request: %d", n)
	}
}

// decodeProblem checks res is a problem+json answer with status.
func decodeProblem(t *testing.T, res *http.Response, status int) problem.Details {
	t.Helper()
	defer res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d", res.StatusCode, status)
	}
	if ct := res.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q", ct)
	}
	var d problem.Details
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNoAvailableTarget(t *testing.T) {
	pool := newPool(t, "http://"+closedAddr(t))
	pool.Targets()[0].SetDown(true)
	for name, o := range map[string]Options{"all down": {Pool: pool}, "nil pool": {}} {
		t.Run(name, func(t *testing.T) {
			s, infos := infoFront(t, o, reqinfo.Info{RequestID: "id-503"})
			res, err := http.Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			if d := decodeProblem(t, res, 503); d.RequestID != "id-503" {
				t.Fatalf("problem %+v", d)
			}
			if info := <-infos; info.UpstreamError == "" || info.Attempts != 0 {
				t.Fatalf("info %+v", info)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	var hits counter
	logs := &logRecords{}
	pool := newPool(t, "http://"+closedAddr(t))
	s, infos := infoFront(t, Options{Route: "users", Pool: pool, OnUpstreamError: hits.hook, Logger: slog.New(logs)},
		reqinfo.Info{RequestID: "id-502"})
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	decodeProblem(t, res, 502)
	info := <-infos
	addr := pool.Targets()[0].Addr
	if info.UpstreamError == "" || info.Target != addr || info.Attempts != 1 {
		t.Fatalf("info %+v", info)
	}
	if hits.get(addr) != 1 {
		t.Fatalf("OnUpstreamError calls: %v", hits.n)
	}
	recs := logs.attrs()
	if len(recs) != 1 || recs[0]["route"] != "users" || recs[0]["target"] != addr ||
		recs[0]["request_id"] != "id-502" || !strings.Contains(recs[0]["error"], "refused") {
		t.Fatalf("log records %v", recs)
	}
}

// resetUpstream accepts connections, reads the request head and resets the
// connection without answering.
func resetUpstream(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			c.Read(buf)
			c.(*net.TCPConn).SetLinger(0) // RST, not FIN
			c.Close()
		}
	}()
	return "http://" + l.Addr().String()
}

func TestUpstreamReset(t *testing.T) {
	var hits counter
	s := front(t, Options{Pool: newPool(t, resetUpstream(t)), OnUpstreamError: hits.hook})
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	decodeProblem(t, res, 502)
	if hits.total() != 1 {
		t.Fatalf("OnUpstreamError calls %d", hits.total())
	}
}

func TestTimeouts(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	cases := map[string]Options{
		"route timeout": {Timeout: 100 * time.Millisecond},
		"response header timeout": {Transport: NewTransport(TransportConfig{
			ResponseHeaderTimeout: 100 * time.Millisecond, MaxIdlePerTarget: 1})},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			var hits counter
			o.Pool, o.OnUpstreamError = newPool(t, up.URL), hits.hook
			s := front(t, o)
			res, err := http.Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			decodeProblem(t, res, 504)
			if hits.total() != 1 {
				t.Fatalf("OnUpstreamError calls %d", hits.total())
			}
		})
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	started, canceled := make(chan struct{}), make(chan struct{})
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			close(canceled)
		case <-time.After(10 * time.Second):
		}
	})
	var hits counter
	s := front(t, Options{Pool: newPool(t, up.URL), OnUpstreamError: hits.hook})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	<-started
	cancel()
	<-errc
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("upstream request not canceled after the client left")
	}
	if hits.total() != 0 {
		t.Fatal("a client disconnect was counted as an upstream error")
	}
}

func TestClientBodyErrors(t *testing.T) {
	entered := make(chan struct{}, 4)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		io.Copy(io.Discard, r.Body)
	})
	var hits counter
	s, infos := infoFront(t, Options{Pool: newPool(t, up.URL), OnUpstreamError: hits.hook}, reqinfo.Info{})

	t.Run("malformed chunking", func(t *testing.T) {
		res, _, _ := raw(t, hostOf(s), "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
		decodeProblem(t, res, 400)
		if info := <-infos; info.UpstreamError == "" {
			t.Fatalf("info %+v", info)
		}
	})
	t.Run("client gone mid-body", func(t *testing.T) {
		c, err := net.Dial("tcp", hostOf(s))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\npartial")
		<-entered // the proxy is forwarding the body
		c.Close()
		if info := <-infos; info.UpstreamError == "" {
			t.Fatalf("info %+v", info)
		}
	})
	if hits.total() != 0 {
		t.Fatalf("client body errors counted as upstream errors: %v", hits.n)
	}
}

func TestRedispatch(t *testing.T) {
	up, got := recorder(t)
	cases := []struct {
		name, method, body string
		header             http.Header
		first              func(*testing.T) string
		want, attempts     int
	}{
		{"GET after refused", "GET", "", nil, func(t *testing.T) string { return "http://" + closedAddr(t) }, 200, 2},
		{"GET after reset", "GET", "", nil, resetUpstream, 200, 2},
		{"PUT without body", "PUT", "", nil, resetUpstream, 200, 2},
		{"POST with Idempotency-Key", "POST", "", http.Header{"Idempotency-Key": {"k"}}, resetUpstream, 200, 2},
		{"POST", "POST", "", nil, resetUpstream, 502, 1},
		{"PUT with body", "PUT", "data", nil, resetUpstream, 502, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits counter
			pool := newPool(t, tc.first(t), up.URL) // round robin starts with the first
			s, infos := infoFront(t, Options{Pool: pool, OnUpstreamError: hits.hook}, reqinfo.Info{})
			req, _ := http.NewRequest(tc.method, s.URL, strings.NewReader(tc.body))
			if tc.body == "" {
				req.Body = nil
			}
			for k, v := range tc.header {
				req.Header[k] = v
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			info := <-infos
			if res.StatusCode != tc.want || info.Attempts != tc.attempts || hits.get(pool.Targets()[0].Addr) != 1 {
				t.Fatalf("status %d attempts %d upstream errors %v", res.StatusCode, info.Attempts, hits.n)
			}
			if tc.want == 200 {
				<-got
				if info.Target != pool.Targets()[1].Addr || info.UpstreamError != "" {
					t.Fatalf("info %+v", info)
				}
			}
		})
	}
}

func TestRedispatchOnlyOnce(t *testing.T) {
	var hits counter
	pool := newPool(t, "http://"+closedAddr(t), "http://"+closedAddr(t), "http://"+closedAddr(t))
	logs := &logRecords{}
	s, infos := infoFront(t, Options{Pool: pool, OnUpstreamError: hits.hook, Logger: slog.New(logs)}, reqinfo.Info{})
	res, err := http.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	decodeProblem(t, res, 502)
	if info := <-infos; info.Attempts != 2 || hits.total() != 2 || len(logs.attrs()) != 2 {
		t.Fatalf("attempts %d, upstream errors %d, log records %d", info.Attempts, hits.total(), len(logs.attrs()))
	}
}

func TestConnectRejected(t *testing.T) {
	up, _ := recorder(t)
	s := front(t, Options{Pool: newPool(t, up.URL)})
	res, _, _ := raw(t, hostOf(s), "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n")
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestServeHTTPWithoutServer(t *testing.T) {
	// Unit-test use with a bare request (no Info, no RemoteAddr) must work.
	up, got := recorder(t)
	h := New(Options{Pool: newPool(t, up.URL), Transport: testTransport(t)})
	req := httptest.NewRequest("GET", "/u?x=1", nil)
	req.RemoteAddr = ""
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if c := <-got; rec.Code != 200 || c.uri != "/u?x=1" || c.header.Get("X-Forwarded-For") != "" {
		t.Fatalf("status %d, %+v", rec.Code, c)
	}
}

func TestAttemptsAreObserved(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {})
	pool := newPool(t, "http://"+closedAddr(t), up.URL)
	s := front(t, Options{Pool: pool})
	res, err := http.Get(s.URL) // refused on the first target, redispatched to the second
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	failed, ok := pool.Targets()[0], pool.Targets()[1]
	if got := failed.LatencyEstimate(); got < time.Second/2 { // decays from the 1s penalty
		t.Errorf("failed target's latency estimate %v: a failure must count as slow", got)
	}
	if got := ok.LatencyEstimate(); got <= 0 || got >= time.Second/2 {
		t.Errorf("answering target's latency estimate %v", got)
	}
	if failed.InFlight() != 0 || ok.InFlight() != 0 {
		t.Errorf("in flight %d, %d", failed.InFlight(), ok.InFlight())
	}
}
