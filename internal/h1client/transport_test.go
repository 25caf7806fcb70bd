package h1client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/wiretest"
)

func TestKeepAliveReuse(t *testing.T) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Path", r.URL.RequestURI())
		io.WriteString(w, "hello "+r.URL.Path)
	})
	tr := newTestTransport(t, Config{})
	for i := 0; i < 20; i++ {
		p := "/p/" + strconv.Itoa(i)
		resp, body := get(t, tr, s.URL+p+"?q=1")
		if resp.StatusCode != 200 || body != "hello "+p || resp.Header.Get("X-Path") != p+"?q=1" {
			t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
		}
		if resp.ContentLength != int64(len(body)) || resp.Close || resp.ProtoMinor != 1 {
			t.Fatalf("ContentLength %d Close %v Proto %s", resp.ContentLength, resp.Close, resp.Proto)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("server saw %d connections for 20 sequential requests, want 1", n)
	}
}

func TestConcurrentRequestsOpenAndReuseConnections(t *testing.T) {
	const workers, rounds = 4, 50
	var arrived sync.WaitGroup
	arrived.Add(workers)
	var first sync.Once
	gate := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			// Hold the first wave until all are in flight, which forces
			// one connection per worker.
			arrived.Done()
			first.Do(func() { go func() { arrived.Wait(); close(gate) }() })
			<-gate
		}
		io.WriteString(w, r.URL.Path)
	})
	tr := newTestTransport(t, Config{})
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				p := "/n"
				if i == 0 {
					p = "/first"
				}
				resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL+p, nil))
				if err != nil {
					errc <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != p {
					errc <- errors.New("bad body " + string(b))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if n := s.conns.Load(); n != workers {
		t.Fatalf("server saw %d connections, want %d (parallel, then reused)", n, workers)
	}
	if n := idleCount(tr); n != workers {
		t.Fatalf("%d idle connections, want %d", n, workers)
	}
}

func mustReq(t testing.TB, method, url string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Error(err)
	}
	return req
}

// onlyReader hides io.WriterTo and Len, so ContentLength stays unknown.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestChunkedRequestBodyWithTrailers(t *testing.T) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
		w.Header().Set("X-Trailer", r.Trailer.Get("X-Checksum"))
		w.Write(b)
	})
	tr := newTestTransport(t, Config{})
	payload := strings.Repeat("chunk-data-", 10000) // spans several chunks
	for i := 0; i < 2; i++ {
		req := mustReq(t, "POST", s.URL, io.NopCloser(onlyReader{strings.NewReader(payload)}))
		req.ContentLength = -1
		req.Trailer = http.Header{"X-Checksum": nil}
		req.Trailer.Set("X-Checksum", "abc"+strconv.Itoa(i)) // set after declaration, like a streaming writer would
		resp, body := do(t, tr, req)
		if body != payload {
			t.Fatalf("echo mismatch: %d bytes", len(body))
		}
		if resp.Header.Get("X-TE") != "chunked" || resp.Header.Get("X-Trailer") != "abc"+strconv.Itoa(i) {
			t.Fatalf("server saw TE %q trailer %q", resp.Header.Get("X-TE"), resp.Header.Get("X-Trailer"))
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestChunkedResponseWithTrailers(t *testing.T) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, X-Count")
		for i := 0; i < 5; i++ {
			io.WriteString(w, strings.Repeat(strconv.Itoa(i), 3000))
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", "42")
		w.Header().Set("X-Count", "5")
	})
	tr := newTestTransport(t, Config{})
	for i := 0; i < 3; i++ {
		resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.Header.Get("Transfer-Encoding") != "" {
			t.Fatalf("ContentLength %d TE %v header %v", resp.ContentLength, resp.TransferEncoding, resp.Header)
		}
		if _, ok := resp.Trailer["X-Sum"]; !ok || len(resp.Trailer) != 2 || resp.Header.Get("Trailer") != "" {
			t.Fatalf("announced trailers not pre-populated: %v", resp.Trailer)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(b) != 15000 || b[14999] != '4' {
			t.Fatalf("body %d bytes, err %v", len(b), err)
		}
		if resp.Trailer.Get("X-Sum") != "42" || resp.Trailer.Get("X-Count") != "5" {
			t.Fatalf("trailers %v", resp.Trailer)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestCloseDelimitedBody(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX: y\r\n\r\nuntil the end")
	})
	tr := newTestTransport(t, Config{})
	for i := 0; i < 2; i++ {
		resp, body := get(t, tr, s.URL())
		if body != "until the end" || !resp.Close || resp.ContentLength != -1 {
			t.Fatalf("body %q Close %v CL %d", body, resp.Close, resp.ContentLength)
		}
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: a close-delimited connection cannot be reused", n)
	}
}

func TestResponsesWithoutBody(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req, err := readRequest(br)
			if err != nil {
				return
			}
			var resp string
			switch {
			case req.Method == "HEAD":
				resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
			case req.URL.Path == "/204":
				resp = "HTTP/1.1 204 No Content\r\n\r\n"
			case req.URL.Path == "/304":
				resp = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n"
			default:
				resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			}
			io.WriteString(c, resp)
		}
	})
	tr := newTestTransport(t, Config{})
	resp, body := do(t, tr, mustReq(t, "HEAD", s.URL(), nil))
	if body != "" || resp.ContentLength != 5 || resp.Body != http.NoBody {
		t.Fatalf("HEAD: body %q CL %d", body, resp.ContentLength)
	}
	for _, p := range []string{"/204", "/304", "/"} {
		resp, body = get(t, tr, s.URL()+p)
		if want := map[string]string{"/": "ok"}[p]; body != want {
			t.Fatalf("%s: body %q", p, body)
		}
		if p == "/304" && (resp.ContentLength != 0 || resp.Header.Get("Etag") != `"x"`) {
			t.Fatalf("304: CL %d header %v", resp.ContentLength, resp.Header)
		}
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections, want 1: bodiless responses must not desync the connection", n)
	}
}

func TestInterimResponsesSkipped(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
		}
	})
	tr := newTestTransport(t, Config{})
	for i := 0; i < 2; i++ {
		resp, body := get(t, tr, s.URL())
		if resp.StatusCode != 200 || body != "done" || resp.Header.Get("Link") != "" {
			t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
		}
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestUpgradeTunnel(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := readRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("Upgrade") != "echo" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
			return
		}
		// "early" arrives in the same segment as the head, so it sits in
		// the client's read buffer: the tunnel must deliver it.
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly")
		io.Copy(c, br)
	})
	tr := newTestTransport(t, Config{})
	req := mustReq(t, "GET", s.URL(), nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		t.Fatalf("101 body %T is not an io.ReadWriteCloser", resp.Body)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(rwc, buf); err != nil || string(buf) != "early" {
		t.Fatalf("read %q %v", buf, err)
	}
	for _, msg := range []string{"ping", "pong and more"} {
		if _, err := io.WriteString(rwc, msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(rwc, got); err != nil || string(got) != msg {
			t.Fatalf("echo %q %v", got, err)
		}
	}
	rwc.Close()
	if n := idleCount(tr); n != 0 {
		t.Fatalf("upgraded connection was pooled (%d idle)", n)
	}
}

// closingServer answers each request with a keep-alive response and then
// closes the connection anyway, as a server reloading or timing out idle
// connections does. closed receives after each close.
func closingServer(t *testing.T) (*rawServer, chan struct{}, *bodyLog) {
	closed := make(chan struct{}, 16)
	log := &bodyLog{}
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		log.add(string(b))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		c.Close()
		closed <- struct{}{}
	})
	return s, closed, log
}

type bodyLog struct {
	mu     sync.Mutex
	bodies []string
}

func (l *bodyLog) add(s string) { l.mu.Lock(); l.bodies = append(l.bodies, s); l.mu.Unlock() }
func (l *bodyLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bodies...)
}

func waitClosed(t *testing.T, closed chan struct{}) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(waitTimeout):
		t.Fatal("server did not close the connection")
	}
}

func TestStalePooledConnectionRetried(t *testing.T) {
	s, closed, _ := closingServer(t)
	tr := newTestTransport(t, Config{})
	get(t, tr, s.URL())
	waitClosed(t, closed) // the pooled connection is now dead
	if idleCount(tr) != 1 {
		t.Fatal("first connection was not pooled")
	}
	resp, body := get(t, tr, s.URL())
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (stale one, then the retry)", n)
	}
}

func TestStaleConnectionBodyReplayOnlyWithGetBody(t *testing.T) {
	// A server that reads the second request on a kept-alive connection
	// and hangs up without answering: the close raced with the checkout,
	// so the readability probe cannot see it.
	s, log := racingCloseServer(t)
	var retries atomic.Int64
	tr := newTestTransport(t, Config{OnRetry: func() { retries.Add(1) }})
	get(t, tr, s.URL())

	req := mustReq(t, "POST", s.URL(), strings.NewReader("twice")) // sets GetBody
	resp, body := do(t, tr, req)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if got := log.get(); got[len(got)-1] != "twice" {
		t.Fatalf("replayed body %q, want %q", got[len(got)-1], "twice")
	}
	if n := retries.Load(); n != 1 {
		t.Fatalf("%d retries counted, want 1", n)
	}
}

// racingCloseServer answers the first request of every connection and
// keeps it alive; a second request on the same connection is read (body
// included, which log records) and the connection closed without an answer.
func racingCloseServer(t *testing.T) (*rawServer, *bodyLog) {
	log := &bodyLog{}
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for i := 0; ; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(req.Body)
			log.add(string(b))
			if i == 1 {
				return // closed by the deferred c.Close
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	return s, log
}

// waitStale waits until the freshest idle connection's probe sees the
// server's close, so a test does not depend on how fast the FIN travels.
func waitStale(t *testing.T, tr *Transport) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		for _, hp := range *tr.pools.Load() {
			hp.mu.Lock()
			dead := len(hp.idle) > 0 && !hp.idle[len(hp.idle)-1].probe.alive()
			hp.mu.Unlock()
			if dead {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the pooled connection never became readable")
}

func TestStaleIdleConnectionDiscardedBeforeUse(t *testing.T) {
	s, closed, log := closingServer(t)
	var stale, retries atomic.Int64
	tr := newTestTransport(t, Config{OnStaleConn: func() { stale.Add(1) }, OnRetry: func() { retries.Add(1) }})
	get(t, tr, s.URL())
	waitClosed(t, closed)
	waitStale(t, tr)

	// A body without GetBody: it must never reach the dead connection.
	req := mustReq(t, "PUT", s.URL(), nil)
	req.Body = io.NopCloser(strings.NewReader("hello"))
	req.ContentLength = 5
	resp, body := do(t, tr, req)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if got := log.get(); got[len(got)-1] != "hello" {
		t.Fatalf("body %q", got)
	}
	if n := stale.Load(); n != 1 {
		t.Fatalf("%d stale connections counted, want 1", n)
	}
	if n := retries.Load(); n != 0 {
		t.Fatalf("%d retries: the stale connection was used", n)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestIdleConnectionWithUnsolicitedBytesDiscarded(t *testing.T) {
	sent := make(chan struct{}, 4)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			io.WriteString(c, "garbage") // out of sync: must not be read as the next response
			sent <- struct{}{}
		}
	})
	var stale atomic.Int64
	tr := newTestTransport(t, Config{OnStaleConn: func() { stale.Add(1) }})
	resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL(), nil))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body) // pooled at EOF, before "garbage" may have arrived
	resp.Body.Close()
	<-sent
	if idleCount(tr) == 1 {
		waitStale(t, tr)
	}
	if _, body := get(t, tr, s.URL()); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestReusedConnectionRetriedWithConsumedBody(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			s, log := racingCloseServer(t)
			var retries atomic.Int64
			tr := newTestTransport(t, Config{OnRetry: func() { retries.Add(1) }})
			get(t, tr, s.URL())
			payload := strings.Repeat("p", 40<<10) // beyond the write buffer: two writes
			req := mustReq(t, "POST", s.URL(), nil)
			req.Body = io.NopCloser(strings.NewReader(payload)) // no GetBody
			req.ContentLength = int64(len(payload))
			if chunked {
				req.Body = io.NopCloser(onlyReader{strings.NewReader(payload)})
				req.ContentLength = -1
			}
			resp, body := do(t, tr, req)
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			got := log.get()
			if len(got) != 3 || got[1] != payload || got[2] != payload {
				t.Fatalf("bodies received: %d, lengths %v", len(got), lens(got))
			}
			if n := retries.Load(); n != 1 {
				t.Fatalf("%d retries, want 1", n)
			}
		})
	}
}

func TestReusedConnectionNotRetriedBeyondReplayBuffer(t *testing.T) {
	s, _ := racingCloseServer(t)
	tr := newTestTransport(t, Config{})
	get(t, tr, s.URL())
	payload := strings.Repeat("p", maxReplayBytes+1)
	req := mustReq(t, "POST", s.URL(), nil)
	req.Body = io.NopCloser(strings.NewReader(payload))
	req.ContentLength = int64(len(payload))
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("a body larger than the replay buffer was retried")
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections: the request was retried with a truncated body", n)
	}
}

func lens(ss []string) []int {
	n := make([]int, len(ss))
	for i, s := range ss {
		n[i] = len(s)
	}
	return n
}

func TestFreshConnectionFailureNotRetried(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		readRequest(br) // and hang up without answering
	})
	tr := newTestTransport(t, Config{})
	_, err := tr.RoundTrip(mustReq(t, "GET", s.URL(), nil))
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("err %v does not wrap io.EOF", err)
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections: a failure on a fresh connection was retried", n)
	}
}

func TestConnectError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tr := newTestTransport(t, Config{})
	_, err = tr.RoundTrip(mustReq(t, "GET", "http://"+addr+"/", nil))
	if !IsConnectError(err) || !errors.Is(err, ErrConnectFailed) {
		t.Fatalf("err %v is not a connect error", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" {
		t.Fatalf("err %v does not wrap the dial *net.OpError", err)
	}
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	// An HTTP error and a read failure are not connect errors.
	resp, _ := get(t, tr, s.URL)
	if resp.StatusCode != 500 {
		t.Fatal(resp.StatusCode)
	}
}

func TestCancelDuringBodyClosesConnection(t *testing.T) {
	handlerDone := make(chan error, 1)
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first part")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done(): // the server noticed the client hang up
			handlerDone <- nil
		case <-time.After(waitTimeout):
			handlerDone <- errors.New("client connection still open after cancel")
		}
	})
	tr := newTestTransport(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := mustReq(t, "GET", s.URL, nil).WithContext(ctx)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := resp.Body.Read(make([]byte, 10)) // blocks: nothing more is coming
		readErr <- err
	}()
	cancel()
	select {
	case err := <-readErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("read after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("cancel did not unblock the body read")
	}
	resp.Body.Close()
	if err := <-handlerDone; err != nil {
		t.Fatal(err)
	}
	if n := idleCount(tr); n != 0 {
		t.Fatalf("cancelled connection pooled (%d idle)", n)
	}
}

func TestCancelBeforeHeaders(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := newTestTransport(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := tr.RoundTrip(mustReq(t, "GET", s.URL, nil).WithContext(ctx))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := idleCount(tr); n != 0 {
		t.Fatalf("cancelled connection pooled (%d idle)", n)
	}
}

func TestCloseConcurrentWithReadUnblocks(t *testing.T) {
	release := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := newTestTransport(t, Config{})
	resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(resp.Body, make([]byte, 7))
	readErr := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := resp.Body.Read(make([]byte, 10))
		readErr <- err
	}()
	<-started
	resp.Body.Close()
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("read returned no error after Close")
		}
	case <-time.After(waitTimeout):
		t.Fatal("Close did not unblock Read")
	}
	if n := idleCount(tr); n != 0 {
		t.Fatalf("connection pooled after early Close (%d idle)", n)
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	tr := newTestTransport(t, Config{ResponseHeaderTimeout: 50 * time.Millisecond})
	_, err := tr.RoundTrip(mustReq(t, "GET", s.URL, nil))
	if !errors.Is(err, ErrResponseHeaderTimeout) {
		t.Fatalf("err %v, want ErrResponseHeaderTimeout", err)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("err %v is not a net.Error timeout", err)
	}
}

// The deadline for the head must not linger into a slow body.
func TestResponseHeaderTimeoutClearedForBody(t *testing.T) {
	next := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		<-next
		io.WriteString(w, "b")
	})
	// The head must come within the timeout, so it is not tiny (a loaded
	// machine can take tens of milliseconds for a loopback round trip);
	// the wait below outlasts it, so a deadline left on the body would
	// fire: it was set before the head arrived, the wait starts after.
	const headerTimeout = 500 * time.Millisecond
	tr := newTestTransport(t, Config{ResponseHeaderTimeout: headerTimeout})
	resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	io.ReadFull(resp.Body, buf)
	// The one wait on a clock in these tests: the behaviour under test is
	// that a deadline does NOT fire, so time has to pass.
	timer := time.NewTimer(headerTimeout + 100*time.Millisecond)
	<-timer.C
	close(next)
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != "b" {
		t.Fatalf("body %q err %v: header deadline leaked into the body", b, err)
	}
}

func TestIdleTimeoutOnCheckoutAndSweep(t *testing.T) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") })
	tr := newTestTransport(t, Config{IdleTimeout: time.Minute})
	age := func() {
		for _, hp := range *tr.pools.Load() {
			hp.mu.Lock()
			for _, c := range hp.idle {
				c.idleAt = c.idleAt.Add(-2 * time.Minute)
			}
			hp.mu.Unlock()
		}
	}
	get(t, tr, s.URL)
	age()
	get(t, tr, s.URL) // must not use the expired connection
	if n := s.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: an expired connection was reused", n)
	}
	if n := idleCount(tr); n != 1 {
		t.Fatalf("%d idle, want 1: the expired connection was kept", n)
	}
	age()
	tr.sweep()
	if n := idleCount(tr); n != 0 {
		t.Fatalf("%d idle after sweep, want 0", n)
	}
}

func TestCloseIdleFor(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
		}
	})
	tr := newTestTransport(t, Config{})
	get(t, tr, s.URL())
	tr.CloseIdleFor(strings.TrimPrefix(s.URL(), "http://"))
	if n := idleCount(tr); n != 0 {
		t.Fatalf("%d idle after CloseIdleFor", n)
	}
	get(t, tr, s.URL())
	tr.CloseIdleConnections()
	if n := idleCount(tr); n != 0 {
		t.Fatalf("%d idle after CloseIdleConnections", n)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

func TestMaxIdlePerHost(t *testing.T) {
	gate := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(3)
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		arrived.Done()
		<-gate
	})
	tr := newTestTransport(t, Config{MaxIdlePerHost: 2})
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get(t, tr, s.URL) }()
	}
	arrived.Wait()
	close(gate)
	wg.Wait()
	if n := idleCount(tr); n != 2 {
		t.Fatalf("%d idle, want MaxIdlePerHost=2", n)
	}
}

func TestRequestWriting(t *testing.T) {
	got := make(chan string, 4)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			head, err := wiretest.ReadHead(br)
			if err != nil {
				return
			}
			got <- head
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	tr := newTestTransport(t, Config{})

	req := mustReq(t, "POST", s.URL()+"/a%2Fb/c?x=1&y", nil)
	req.Host = "virtual.example"
	req.Header["Host"] = []string{"ignored.example"}
	req.Header.Set("Content-Length", "999") // stale framing must not leak through
	req.Header.Set("X-Multi", "1")
	req.Header.Add("X-Multi", "2")
	req.Close = true
	do(t, tr, req)
	head := <-got
	for _, want := range []string{
		"POST /a%2Fb/c?x=1&y HTTP/1.1\r\n",
		"Host: virtual.example\r\n",
		"Content-Length: 0\r\n",
		"Connection: close\r\n",
		"X-Multi: 1\r\nX-Multi: 2\r\n",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("request head lacks %q:\n%s", want, head)
		}
	}
	for _, bad := range []string{"ignored.example", "999"} {
		if strings.Contains(head, bad) {
			t.Errorf("request head contains %q:\n%s", bad, head)
		}
	}
	if idleCount(tr) != 0 {
		t.Error("Connection: close request's connection was pooled")
	}

	for _, mut := range []func(*http.Request){
		func(r *http.Request) { r.Header.Set("X-Evil", "a\r\nInjected: 1") },
		func(r *http.Request) { r.Header["Bad Name"] = []string{"v"} },
		func(r *http.Request) { r.URL.RawQuery = "a=b HTTP/1.1\r\nX: y" },
		func(r *http.Request) { r.Host = "a\r\nX: y" },
		func(r *http.Request) { r.Method = "GET /x" },
	} {
		req := mustReq(t, "GET", s.URL(), nil)
		mut(req)
		if _, err := tr.RoundTrip(req); err == nil {
			t.Errorf("request with injection accepted: %v %v %q", req.Header, req.URL, req.Host)
		}
	}
	select {
	case h := <-got:
		t.Fatalf("invalid request reached the server:\n%s", h)
	default:
	}
}

func TestUnsupportedRequests(t *testing.T) {
	tr := newTestTransport(t, Config{})
	for _, u := range []string{"https://example.com/", "ftp://x/"} {
		if _, err := tr.RoundTrip(mustReq(t, "GET", u, nil)); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	req := mustReq(t, "POST", "http://127.0.0.1:1/", nil)
	req.ContentLength = 5
	if _, err := tr.RoundTrip(req); err == nil {
		t.Error("ContentLength with nil body accepted")
	}
}

func TestEarlyResponseWhileWritingBody(t *testing.T) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge) // without reading the body
	})
	tr := newTestTransport(t, Config{})
	body := strings.NewReader(strings.Repeat("x", 32<<20))
	req := mustReq(t, "POST", s.URL, body)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("server answered 413 but the client reported: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if idleCount(tr) != 0 {
		t.Fatal("connection with an unfinished request body was pooled")
	}
}

func TestCloseIdleForClosesInFlightOnReturn(t *testing.T) {
	s, dropped := serveRaw(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	tr := newTestTransport(t, Config{})
	resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL(), nil))
	if err != nil {
		t.Fatal(err)
	}
	tr.CloseIdleFor(strings.TrimPrefix(s.URL(), "http://")) // drained while in flight
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if !<-dropped || idleCount(tr) != 0 {
		t.Fatal("connection to a drained target went back to the pool")
	}
}

func TestChunkedStreamingDoesNotWaitForNextChunk(t *testing.T) {
	gotFirst := make(chan struct{})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "event: 1\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-gotFirst: // only once the client has seen the first event
		case <-r.Context().Done():
		}
		io.WriteString(w, "event: 2\n\n")
	})
	tr := newTestTransport(t, Config{})
	resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make(chan string, 1)
	go func() {
		buf := make([]byte, 1024)
		n, _ := resp.Body.Read(buf)
		first <- string(buf[:n])
	}()
	select {
	case got := <-first:
		if got != "event: 1\n\n" {
			t.Fatalf("first read %q", got)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Read held back a received chunk waiting for the next one")
	}
	close(gotFirst)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "event: 2\n\n" {
		t.Fatalf("rest %q %v", rest, err)
	}
}
