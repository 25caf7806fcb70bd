package h1client

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// serveRaw answers every request on a connection with resp, then reports
// whether the client dropped the connection (true) or kept it (false, seen as
// a second request arriving).
func serveRaw(t *testing.T, resp string) (*rawServer, chan bool) {
	dropped := make(chan bool, 1)
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, resp)
		dropped <- waitEOF(c, br)
	})
	return s, dropped
}

func TestMalformedResponses(t *testing.T) {
	big := strings.Repeat("a", 70<<10)
	cases := []struct {
		name, resp string
		want       error // nil: any error
	}{
		{"CL and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", ErrMalformedResponse},
		{"differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", ErrMalformedResponse},
		{"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!", ErrMalformedResponse},
		{"negative CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", ErrMalformedResponse},
		{"signed CL", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", ErrMalformedResponse},
		{"CL junk", "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", ErrMalformedResponse},
		{"CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", ErrMalformedResponse},
		{"empty CL", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", ErrMalformedResponse},
		{"TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", ErrMalformedResponse},
		{"TE unknown with CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-foo\r\nContent-Length: 2\r\n\r\nok", ErrMalformedResponse},
		{"TE chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, x-foo\r\n\r\nok", ErrMalformedResponse},
		{"TE empty member", "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-foo,\r\n\r\nok", ErrMalformedResponse},
		{"TE twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrMalformedResponse},
		{"TE on 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrMalformedResponse},
		{"HTTP/2 status", "HTTP/2.0 200 OK\r\n\r\n", ErrMalformedResponse},
		{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", ErrMalformedResponse},
		{"status 099", "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", ErrMalformedResponse},
		{"no space after code", "HTTP/1.1 200OK\r\n\r\n", ErrMalformedResponse},
		{"ICY", "ICY 200 OK\r\n\r\n", ErrMalformedResponse},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", ErrMalformedResponse},
		{"no colon", "HTTP/1.1 200 OK\r\nBroken\r\nContent-Length: 0\r\n\r\n", ErrMalformedResponse},
		{"leading fold", "HTTP/1.1 200 OK\r\n Folded: x\r\nContent-Length: 0\r\n\r\n", ErrMalformedResponse},
		{"NUL in value", "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n", ErrMalformedResponse},
		{"bare CR in value", "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n", ErrMalformedResponse},
		{"header too large", "HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 0\r\n\r\n", ErrResponseHeaderTooLarge},
		{"too many 1xx", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 20) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", ErrMalformedResponse},
		{"chunk not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", ErrMalformedResponse},
		{"chunk bare LF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", ErrMalformedResponse},
		{"chunk no CRLF after data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", ErrMalformedResponse},
		{"chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", ErrMalformedResponse},
		{"chunk empty size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", ErrMalformedResponse},
		{"chunk ext CTL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n0\r\n\r\n", ErrMalformedResponse},
		{"bad trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", ErrMalformedResponse},
		{"truncated CL body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", io.ErrUnexpectedEOF},
		{"truncated chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", io.ErrUnexpectedEOF},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Le", io.ErrUnexpectedEOF},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			truncated := tc.want == io.ErrUnexpectedEOF
			s, dropped := serveRaw(t, tc.resp)
			if truncated {
				// The server must hang up for the body to end early.
				s = newRawServer(t, func(c net.Conn, br *bufio.Reader) {
					if _, err := readRequest(br); err == nil {
						io.WriteString(c, tc.resp)
					}
				})
			}
			tr := newTestTransport(t, Config{})
			resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL(), nil))
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatalf("accepted: %q", tc.resp)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if IsConnectError(err) {
				t.Fatalf("classified as connect error: %v", err)
			}
			if n := idleCount(tr); n != 0 {
				t.Fatalf("connection pooled after %v", err)
			}
			if !truncated && !<-dropped {
				t.Fatal("client kept the connection open")
			}
		})
	}
}

// Oddities that are valid HTTP and must be accepted, on a reused connection.
func TestLenientButValidResponses(t *testing.T) {
	cases := []struct {
		name, resp, body string
		check            func(*http.Response) bool
	}{
		{"repeated equal CL", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok", "ok", nil},
		{"obs-fold joined", "HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\nContent-Length: 2\r\n\r\nok", "ok",
			func(r *http.Response) bool {
				return strings.Fields(r.Header.Get("X-Fold"))[1] == "b" && !strings.ContainsAny(r.Header.Get("X-Fold"), "\r\n")
			}},
		{"lowercase keys canonicalised", "HTTP/1.1 200 OK\r\ncontent-type: text/x\r\nx-MULTI-word: v\r\ncontent-length: 2\r\n\r\nok", "ok",
			func(r *http.Response) bool {
				return r.Header["Content-Type"][0] == "text/x" && r.Header["X-Multi-Word"][0] == "v"
			}},
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", "ok",
			func(r *http.Response) bool { return r.StatusCode == 200 && r.Status == "200" }},
		{"bare LF head", "HTTP/1.1 201 Created\nX: y\nContent-Length: 2\n\nok", "ok",
			func(r *http.Response) bool { return r.StatusCode == 201 && r.Header.Get("X") == "y" }},
		{"OWS trimmed", "HTTP/1.1 200 OK\r\nX: \t v w \t\r\nContent-Length: 2\r\n\r\nok", "ok",
			func(r *http.Response) bool { return r.Header.Get("X") == "v w" }},
		{"chunk ext and uppercase hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA;name=val\r\n0123456789\r\n0\r\n\r\n", "0123456789", nil},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", "ok", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, tc.resp)
				}
			})
			tr := newTestTransport(t, Config{})
			for i := 0; i < 2; i++ {
				resp, body := get(t, tr, s.URL())
				if body != tc.body || (tc.check != nil && !tc.check(resp)) {
					t.Fatalf("body %q status %q header %q", body, resp.Status, resp.Header)
				}
			}
			if n := s.accepts.Load(); n != 1 {
				t.Fatalf("%d connections, want 1", n)
			}
		})
	}
}

func TestConnectionCloseNotPooled(t *testing.T) {
	for _, resp := range []string{
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", // unsolicited bytes
	} {
		s, dropped := serveRaw(t, resp)
		tr := newTestTransport(t, Config{})
		r, body := get(t, tr, s.URL())
		if body != "ok" {
			t.Fatalf("%q: body %q", resp, body)
		}
		if !strings.Contains(resp, "EXTRA") && !r.Close {
			t.Errorf("%q: resp.Close false", resp)
		}
		if !<-dropped || idleCount(tr) != 0 {
			t.Errorf("%q: connection kept", resp)
		}
	}
}

func TestCloseBeforeEOF(t *testing.T) {
	// Rest already buffered: drained and pooled.
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
		}
	})
	tr := newTestTransport(t, Config{})
	for i := 0; i < 2; i++ {
		resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL(), nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 1))
		resp.Body.Close()
		if _, err := resp.Body.Read(make([]byte, 1)); err != http.ErrBodyReadAfterClose {
			t.Fatalf("read after close: %v", err)
		}
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections: buffered remainder was not drained", n)
	}

	// Rest not yet sent: the connection is closed, not waited on.
	s2, dropped := serveRaw(t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234")
	resp, err := tr.RoundTrip(mustReq(t, "GET", s2.URL(), nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 5))
	resp.Body.Close()
	if !<-dropped {
		t.Fatal("connection with an unread body was kept")
	}
}

// A transfer coding other than chunked frames the body by the close of
// the connection (RFC 9112 §6.3 (4)), as an origin with an unknown coding
// sends it; the field is consumed and the connection never pooled.
func TestUnchunkedTransferCodingReadsUntilClose(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err == nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-foo\r\n\r\nhello")
		}
	})
	tr := newTestTransport(t, Config{})
	resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL(), nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "hello" {
		t.Fatalf("body %q, %v", b, err)
	}
	if _, ok := resp.Header["Transfer-Encoding"]; ok || resp.ContentLength != -1 || !resp.Close {
		t.Fatalf("header %v, length %d, close %v", resp.Header, resp.ContentLength, resp.Close)
	}
	if n := idleCount(tr); n != 0 {
		t.Fatalf("a close-delimited connection was pooled")
	}
}
