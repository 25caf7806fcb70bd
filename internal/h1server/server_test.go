package h1server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestKeepAliveReuse(t *testing.T) {
	var seen atomic.Int64
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		if r.Host == "" || r.RemoteAddr == "" || r.RequestURI != "/a?b=1" || r.URL.Path != "/a" || r.URL.RawQuery != "b=1" {
			t.Errorf("request %+v", r)
		}
		if r.Context().Value(http.LocalAddrContextKey) == nil {
			t.Error("no local address in context")
		}
		if _, ok := r.Header["Host"]; ok {
			t.Error("Host left in Header")
		}
		hello(w, r)
	}), Config{IdleTimeout: time.Minute, ReadHeaderTimeout: time.Minute, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	c := ts.client(t)
	for i := 0; i < 10; i++ {
		resp, err := c.Get(ts.url() + "/a?b=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "Hello, World!" || resp.Header.Get("Date") == "" || resp.Header.Get("Content-Type") != "text/plain" {
			t.Fatalf("response %q %v", b, resp.Header)
		}
	}
	if n := ts.newConns(); n != 1 {
		t.Fatalf("%d connections for 10 keep-alive requests", n)
	}
	if seen.Load() != 10 {
		t.Fatal(seen.Load())
	}
}

func TestPipelining(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
		"POST /3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n" +
		"GET /4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	for _, want := range []string{"GET /1 ", "POST /2 abc", "POST /3 de", "GET /4 "} {
		if got := rc.body(rc.response("GET")); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	rc.expectClosed()
}

func TestChunkedRequestAndResponseTrailers(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Trailer["X-Sum"]; !ok {
			t.Errorf("declared trailer missing before body: %v", r.Trailer)
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		if r.ContentLength != -1 || len(r.TransferEncoding) != 1 || r.Trailer.Get("X-Sum") != "42" {
			t.Errorf("CL %d TE %v trailer %v", r.ContentLength, r.TransferEncoding, r.Trailer)
		}
		w.Header().Set("Trailer", "X-Echo-Len")
		w.WriteHeader(200)
		w.Write(b)
		w.(http.Flusher).Flush()
		w.Write(b)
		w.Header().Set("X-Echo-Len", strconv.Itoa(2*len(b)))
		w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
	}), Config{})
	rc := ts.dial(t)
	rc.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n")
	resp := rc.response("POST")
	if got := rc.body(resp); got != "hello worldhello world" {
		t.Fatalf("body %q", got)
	}
	if len(resp.TransferEncoding) != 1 || resp.Trailer.Get("X-Echo-Len") != "22" || resp.Trailer.Get("X-Late") != "yes" {
		t.Fatalf("TE %v trailers %v", resp.TransferEncoding, resp.Trailer)
	}

}

func TestLargeBodiesThroughGoClient(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read first: as with net/http, the body is drained when the
		// response head goes out, unless full duplex is enabled.
		b, _ := io.ReadAll(r.Body)
		w.Write(b) // over the pending buffer: chunked
	}), Config{})
	c := ts.client(t)
	for _, n := range []int{0, 1, 4095, 4096, 4097, 100_000, 1 << 20} {
		body := bytes.Repeat([]byte("abcdefghij"), n/10+1)[:n]
		req, _ := http.NewRequest("POST", ts.url(), io.NopCloser(bytes.NewReader(body)))
		req.ContentLength = -1 // send chunked
		if n%2 == 1 {
			req, _ = http.NewRequest("POST", ts.url(), bytes.NewReader(body))
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("n=%d: %d bytes back, err %v", n, len(got), err)
		}
		wantChunked := n > pendSize
		if (len(resp.TransferEncoding) > 0) != wantChunked {
			t.Fatalf("n=%d: TE %v CL %d", n, resp.TransferEncoding, resp.ContentLength)
		}
	}
	if ts.newConns() != 1 {
		t.Fatalf("%d connections", ts.newConns())
	}
}

func TestExpectContinue(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ignore" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if _, ok := r.Header["Expect"]; ok {
			t.Error("Expect left in Header")
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}), Config{})

	rc := ts.dial(t)
	rc.send("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	line, err := rc.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim %q %v", line, err)
	}
	if l, _ := rc.br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("after 100: %q", l)
	}
	rc.send("hello")
	resp := rc.response("PUT")
	if got := rc.body(resp); got != "hello" || resp.Close {
		t.Fatalf("body %q close %v", got, resp.Close)
	}

	// A handler that never reads: no 100, and the connection closes since
	// the body may or may not follow.
	rc.send("PUT /ignore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	resp = rc.response("PUT")
	if resp.StatusCode != 403 || !resp.Close {
		t.Fatalf("status %d close %v", resp.StatusCode, resp.Close)
	}
	rc.body(resp)
	rc.expectClosed()

	// Go's client with ExpectContinueTimeout waits for our 100.
	tr := &http.Transport{ExpectContinueTimeout: waitTimeout}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("PUT", ts.url(), strings.NewReader("data"))
	req.Header.Set("Expect", "100-continue")
	start := time.Now()
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "data" || time.Since(start) > waitTimeout/2 {
		t.Fatalf("body %q after %v", b, time.Since(start))
	}
	resp.Body.Close()

	// Unsupported expectations: 417.
	rc = ts.dial(t)
	rc.send("PUT / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx")
	if resp := rc.response("PUT"); resp.StatusCode != http.StatusExpectationFailed {
		t.Fatal(resp.Status)
	}
}

func TestHEAD(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/written":
			io.WriteString(w, "hello")
		case "/declared":
			w.Header().Set("Content-Length", "1000")
		case "/streamed":
			w.Write(make([]byte, 10_000))
		}
	}), Config{})
	rc := ts.dial(t)
	for _, tc := range []struct {
		path string
		cl   string
		te   bool
	}{{"/written", "5", false}, {"/declared", "1000", false}, {"/empty", "", false}, {"/streamed", "", false}} {
		rc.send("HEAD " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		resp := rc.response("HEAD")
		if resp.Header.Get("Content-Length") != tc.cl || (len(resp.TransferEncoding) > 0) != tc.te {
			t.Fatalf("%s: CL %q TE %v", tc.path, resp.Header.Get("Content-Length"), resp.TransferEncoding)
		}
		rc.body(resp)
	}
	// No body bytes were sent: the next response parses cleanly.
	rc.send("GET /written HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := rc.body(rc.response("GET")); got != "hello" {
		t.Fatalf("GET after HEADs: %q", got)
	}
}

func TestNoBodyStatuses(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Path[1:])
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "5")
		w.WriteHeader(code)
		if _, err := w.Write([]byte("hello")); err != http.ErrBodyNotAllowed {
			t.Errorf("%d: Write error %v", code, err)
		}
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n")
	raw := make([]byte, 0, 1024)
	for !bytes.Contains(raw, []byte("304")) || !bytes.HasSuffix(raw, []byte("\r\n\r\n")) {
		b := make([]byte, 512)
		n, err := rc.br.Read(b)
		if err != nil {
			t.Fatal(err, string(raw))
		}
		raw = append(raw, b[:n]...)
	}
	s := string(raw)
	if strings.Contains(s, "hello") || strings.Contains(s, "Content-Length") || strings.Contains(s, "Transfer-Encoding") {
		t.Fatalf("no-body responses carry framing or body:\n%s", s)
	}
	if i := strings.Index(s, "HTTP/1.1 304"); i < 0 || strings.Contains(s[i:], "Content-Type") || !strings.Contains(s[:i], "Content-Type") {
		t.Fatalf("304 keeps Content-Type or 204 lost it:\n%s", s)
	}
}

func TestContentLengthMismatch(t *testing.T) {
	errc := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		if r.URL.Path == "/long" {
			w.Write([]byte("hello"))
			_, err := w.Write([]byte("!"))
			errc <- err
			return
		}
		w.Write([]byte("hi")) // short
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := rc.body(rc.response("GET")); got != "hello" {
		t.Fatalf("body %q", got)
	}
	if err := <-errc; !errors.Is(err, http.ErrContentLength) {
		t.Fatalf("excess write: %v", err)
	}
	rc.expectClosed() // the handler wrote more than it declared
	rc = ts.dial(t)
	rc.send("GET /short HTTP/1.1\r\nHost: x\r\n\r\n")
	resp := rc.response("GET")
	if _, err := io.ReadAll(resp.Body); err != io.ErrUnexpectedEOF {
		t.Fatalf("short body read: %v", err)
	}
}

func TestHTTP10(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
			return
		}
		io.WriteString(w, "ok")
	}), Config{})
	rc := ts.dial(t)
	for i := 0; i < 2; i++ {
		rc.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		resp := rc.response("GET")
		if resp.Proto != "HTTP/1.0" || resp.Header.Get("Connection") != "keep-alive" || resp.ContentLength != 2 {
			t.Fatalf("%s %v", resp.Proto, resp.Header)
		}
		rc.body(resp)
	}
	// Streamed: close-delimited.
	rc.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp := rc.response("GET")
	if got := rc.body(resp); got != "ab" || resp.ContentLength != -1 || len(resp.TransferEncoding) != 0 {
		t.Fatalf("%q %d %v", got, resp.ContentLength, resp.TransferEncoding)
	}
	rc.expectClosed()
	// No keep-alive asked: closed after the response.
	rc = ts.dial(t)
	rc.send("GET / HTTP/1.0\r\n\r\n")
	if got := rc.body(rc.response("GET")); got != "ok" {
		t.Fatal(got)
	}
	rc.expectClosed()
}

func TestConnectionClose(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/handler-closes" {
			w.Header().Set("Connection", "close")
		}
		if r.Close != (r.URL.Path == "/client-closes") {
			t.Errorf("r.Close = %v", r.Close)
		}
		io.WriteString(w, "ok")
	}), Config{})
	for _, tc := range []struct{ path, hdr string }{{"/client-closes", "Connection: close\r\n"}, {"/handler-closes", ""}} {
		rc := ts.dial(t)
		rc.send("GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n" + tc.hdr + "\r\n")
		resp := rc.response("GET")
		if !resp.Close || rc.body(resp) != "ok" {
			t.Fatalf("%s: Close %v", tc.path, resp.Close)
		}
		rc.expectClosed()
	}
	// SetKeepAlivesEnabled(false) closes after each response.
	ts.SetKeepAlivesEnabled(false)
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp := rc.response("GET"); !resp.Close || rc.body(resp) != "ok" {
		t.Fatal("keep-alives disabled but connection kept")
	}
	rc.expectClosed()
}

func TestHeaderTooLarge(t *testing.T) {
	var called atomic.Bool
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Store(true) }), Config{MaxHeaderBytes: 1024})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n")
	resp := rc.response("GET")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !resp.Close {
		t.Fatalf("%s close=%v", resp.Status, resp.Close)
	}
	rc.body(resp)
	rc.expectClosed()
	// Within MaxHeaderBytes (+ net/http's 4096 slack): served.
	rc = ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 4000) + "\r\n\r\n")
	if resp := rc.response("GET"); resp.StatusCode != 200 || !called.Load() {
		t.Fatal(resp.Status)
	}
}

// TestRejects sends malformed and hostile requests; each gets its status,
// the connection closes and the handler never runs.
func TestRejects(t *testing.T) {
	var called atomic.Int64
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Add(1) }), Config{})
	for _, tc := range []struct {
		name, req string
		code      int
	}{
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n", 400},
		{"bad request line", "GET /\r\nHost: x\r\n\r\n", 400},
		{"double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"relative target", "GET foo HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"star not OPTIONS", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"control in target", "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad version", "GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400},
		{"http2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"no colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", 400},
		{"bad name", "GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"CR in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
		{"leading fold", "GET / HTTP/1.1\r\n X-A: a\r\nHost: x\r\n\r\n", 400},
		{"gzip TE", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"gzip, chunked TE", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"two TE", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"CL and TE (smuggling)", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"TE and CL (smuggling)", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"differing CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\na", 400},
		{"signed CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na", 400},
		{"empty CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n", 400},
		{"bad trailer decl", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := ts.dial(t)
			rc.send(tc.req)
			resp := rc.response("GET")
			if resp.StatusCode != tc.code || !resp.Close {
				t.Fatalf("status %d close %v, want %d", resp.StatusCode, resp.Close, tc.code)
			}
			rc.body(resp)
			rc.expectClosed()
		})
	}
	if n := called.Load(); n != 0 {
		t.Fatalf("handler ran %d times for rejected requests", n)
	}
}

// TestMalformedBodies: framing errors inside a body make the handler's
// read fail and close the connection; nothing after them is parsed as a
// request.
func TestMalformedBodies(t *testing.T) {
	var smuggled atomic.Bool
	errs := make(chan error, 10)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/smuggled" {
			smuggled.Store(true)
		}
		_, err := io.ReadAll(r.Body)
		errs <- err
	}), Config{})
	for _, body := range []string{
		"zz\r\nabc\r\n0\r\n\r\n",                      // not hex
		"3\nabc\r\n0\r\n\r\n",                         // bare LF size line
		"3\r\nabcX\r\n0\r\n\r\n",                      // no CRLF after data
		"-1\r\na\r\n0\r\n\r\n",                        // sign
		"ffffffffffffffff\r\n",                        // overflow
		"3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n",        // bad trailer
		"3 \r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n", // framing field as trailer
		strings.Repeat("0", 5000) + "1\r\n",           // overlong line
	} {
		rc := ts.dial(t)
		rc.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
		if err := <-errs; err == nil {
			t.Errorf("body %q accepted", body)
		}
		resp := rc.response("POST")
		rc.body(resp)
		if !resp.Close {
			t.Errorf("body %q: connection kept", body)
		}
		rc.expectClosed()
	}
	if smuggled.Load() {
		t.Fatal("a request hidden in a malformed body was served")
	}
}

func TestHijackEcho(t *testing.T) {
	done := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Upgrade", "echo")
		w.Header().Set("Connection", "Upgrade")
		w.WriteHeader(http.StatusSwitchingProtocols)
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		if _, err := w.Write([]byte("x")); err != http.ErrHijacked {
			t.Errorf("Write after Hijack: %v", err)
		}
		// Bytes the client sent with the request head are in brw.
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	}), Config{ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly\n")
	resp := rc.response("GET")
	if resp.StatusCode != 101 || resp.Header.Get("Upgrade") != "echo" || resp.Header.Get("Connection") != "Upgrade" {
		t.Fatalf("%s %v", resp.Status, resp.Header)
	}
	for _, msg := range []string{"", "second\n", "third\n"} {
		rc.send(msg)
		want := "echo: early\n"
		if msg != "" {
			want = "echo: " + msg
		}
		line, err := rc.br.ReadString('\n')
		if err != nil || line != want {
			t.Fatalf("got %q %v, want %q", line, err, want)
		}
	}
	rc.nc.Close()
	<-done
	ts.waitNoConns(t)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.states[len(ts.states)-1] != http.StateHijacked {
		t.Fatalf("states %v", ts.states)
	}
}

func TestFlushStreaming(t *testing.T) {
	next := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first;")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		select {
		case <-next: // the client has the first chunk
		case <-time.After(waitTimeout):
			t.Error("client never saw the first chunk")
		}
		io.WriteString(w, "second")
	}), Config{})
	resp, err := ts.client(t).Get(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first;" {
		t.Fatalf("%q %v", buf, err)
	}
	close(next)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("%q %v", rest, err)
	}
}

func TestInformational(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp := rc.response("GET")
	if resp.StatusCode != 103 || resp.Header.Get("Link") == "" {
		t.Fatalf("%s %v", resp.Status, resp.Header)
	}
	resp = rc.response("GET")
	if resp.StatusCode != 200 || rc.body(resp) != "ok" {
		t.Fatal(resp.Status)
	}
}

func TestNoInformationalToHTTP10(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok")
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n")
	if resp := rc.response("GET"); resp.StatusCode != 200 || rc.body(resp) != "ok" {
		t.Fatalf("HTTP/1.0 client got %s first", resp.Status)
	}
}

func TestShutdownAnswersLateRequest(t *testing.T) {
	started := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "answered")
	}), Config{})
	rc := ts.dial(t)
	// Wait until the server has accepted the connection.
	for deadline := time.Now().Add(waitTimeout); ts.newConns() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("not accepted")
		}
		time.Sleep(time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { close(started); shut <- ts.Shutdown(ctxWait(t)) }()
	<-started
	// The request must come after Shutdown began (the response then says
	// close): wait for that state, not for a guessed time.
	for deadline := time.Now().Add(waitTimeout); !ts.shutdown.Load(); {
		if time.Now().After(deadline) {
			t.Fatal("Shutdown did not begin")
		}
		time.Sleep(time.Millisecond)
	}
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp := rc.response("GET")
	if got := rc.body(resp); got != "answered" || !resp.Close {
		t.Fatalf("%q close=%v", got, resp.Close)
	}
	rc.expectClosed()
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	// New connections are refused.
	if nc, err := net.Dial("tcp", ts.addr); err == nil {
		nc.Close()
		t.Fatal("listener still open after Shutdown")
	}
}

func TestShutdownClosesIdleWaitsForBusy(t *testing.T) {
	release := make(chan struct{})
	inHandler := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inHandler)
			<-release
		}
		io.WriteString(w, "ok")
	}), Config{})
	idle := ts.dial(t)
	idle.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.body(idle.response("GET"))
	busy := ts.dial(t)
	busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	<-inHandler
	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(ctxWait(t)) }()
	idle.expectClosed() // closed by Shutdown while the busy one works
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}
	close(release)
	resp := busy.response("GET")
	if !resp.Close || busy.body(resp) != "ok" {
		t.Fatal("busy connection not answered with Connection: close")
	}
	busy.expectClosed()
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownContextExpires(t *testing.T) {
	release := make(chan struct{})
	inHandler := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-inHandler
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatal(err)
	}
	close(release)
}

func TestPanics(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/after-flush":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic("boom after flush")
		case "/after-header":
			w.Header().Set("X-Lost", "1")
			w.WriteHeader(201)
			io.WriteString(w, "lost")
			panic("boom before flush")
		}
		panic("boom")
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp := rc.response("GET")
	if resp.StatusCode != 500 || !resp.Close {
		t.Fatalf("%s close=%v", resp.Status, resp.Close)
	}
	rc.body(resp)
	rc.expectClosed()
	if logs := ts.logs.String(); !strings.Contains(logs, "boom") || !strings.Contains(logs, "goroutine") {
		t.Fatalf("panic not logged with a stack: %s", logs)
	}

	rc = ts.dial(t)
	rc.send("GET /after-header HTTP/1.1\r\nHost: x\r\n\r\n")
	resp = rc.response("GET")
	if resp.StatusCode != 500 || resp.Header.Get("X-Lost") != "" {
		t.Fatalf("%s %v", resp.Status, resp.Header)
	}
	rc.body(resp)

	rc = ts.dial(t)
	rc.send("GET /after-flush HTTP/1.1\r\nHost: x\r\n\r\n")
	resp = rc.response("GET")
	if _, err := io.ReadAll(resp.Body); resp.StatusCode != 200 || err == nil {
		t.Fatalf("truncated response read fully: %s %v", resp.Status, err)
	}

	before := len(ts.logs.String())
	rc = ts.dial(t)
	rc.send("GET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.expectClosed()
	if strings.Contains(ts.logs.String()[before:], "abort") {
		t.Fatal("ErrAbortHandler logged")
	}
}

func TestRequestContext(t *testing.T) {
	ctxs := make(chan context.Context, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if ctx.Err() != nil {
			t.Error("canceled early")
		}
		child, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		grand, cancel2 := context.WithCancel(child)
		_ = cancel2
		ctxs <- grand
		io.WriteString(w, "ok")
	}), Config{})
	c := ts.client(t)
	resp, err := c.Get(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case <-(<-ctxs).Done():
	case <-time.After(waitTimeout):
		t.Fatal("derived context not canceled after the handler returned")
	}
}

func TestContextCanceledOnWriteFailure(t *testing.T) {
	got := make(chan error, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := context.AfterFunc(r.Context(), func() {})
		defer done()
		chunk := make([]byte, 64<<10)
		var err error
		for i := 0; i < 10_000 && err == nil; i++ {
			_, err = w.Write(chunk)
		}
		select {
		case <-r.Context().Done():
			got <- err
		case <-time.After(waitTimeout):
			got <- errors.New("context not canceled")
		}
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.response("GET")
	rc.nc.Close()
	if err := <-got; err == nil || err.Error() == "context not canceled" {
		t.Fatalf("write error %v", err)
	}
}

func TestUnreadBody(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), Config{})
	rc := ts.dial(t)
	// Small unread bodies are drained: the connection stays.
	rc.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("a", 1000))
	rc.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	for i := 0; i < 2; i++ {
		resp := rc.response("POST")
		if resp.Close || rc.body(resp) != "ok" {
			t.Fatal("small unread body closed the connection")
		}
	}
	// A large one is not: Connection: close.
	go rc.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("a", 1_000_000))
	resp := rc.response("POST")
	if !resp.Close || rc.body(resp) != "ok" {
		t.Fatal("large unread body kept the connection")
	}
}

func TestTimeouts(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(hello), Config{ReadHeaderTimeout: 50 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	// A slow head is cut off.
	rc := ts.dial(t)
	rc.send("GET / HTTP/1.1\r\n")
	rc.expectClosed()
	// An idle keep-alive connection is closed after IdleTimeout.
	// Timed from before the request: the idle period starts after the
	// response, so the close can come no sooner than IdleTimeout after
	// this, however late this goroutine reads the response.
	rc = ts.dial(t)
	start := time.Now()
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.body(rc.response("GET"))
	rc.expectClosed()
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("closed %v after the request, before the 100ms IdleTimeout", d)
	}
}

func TestResponseController(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Error(err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Error(err)
		}
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Error(err)
		}
		// Full duplex: answer line by line while the body streams in.
		w.WriteHeader(200)
		rc.Flush()
		br := bufio.NewReader(r.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(w, strings.ToUpper(line))
			rc.Flush()
		}
	}), Config{})
	c := ts.dial(t)
	c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	resp := c.response("POST")
	br := bufio.NewReader(resp.Body)
	for _, m := range []string{"abc\n", "def\n"} {
		c.send(fmt.Sprintf("%x\r\n%s\r\n", len(m), m))
		line, err := br.ReadString('\n')
		if err != nil || line != strings.ToUpper(m) {
			t.Fatalf("%q %v", line, err)
		}
	}
	c.send("0\r\n\r\n")
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("%q %v", rest, err)
	}
}

func TestTargetForms(t *testing.T) {
	got := make(chan *http.Request, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r }), Config{})
	rc := ts.dial(t)
	rc.send("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.body(rc.response("OPTIONS"))
	if r := <-got; r.RequestURI != "*" || r.URL.Path != "*" {
		t.Fatalf("%q %+v", r.RequestURI, r.URL)
	}
	rc.send("GET http://example.com/p%20q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
	rc.body(rc.response("GET"))
	if r := <-got; r.Host != "example.com" || r.URL.Path != "/p q" || r.URL.RawQuery != "x=1" {
		t.Fatalf("%q %+v", r.Host, r.URL)
	}
	rc.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
	rc.body(rc.response("CONNECT"))
	if r := <-got; r.Host != "example.com:443" || r.URL.Host != "example.com:443" {
		t.Fatalf("%q %+v", r.Host, r.URL)
	}
}
