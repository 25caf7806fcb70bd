package h1client

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// bytesConn is a net.Conn that reads from a fixed byte string, so the fuzzer
// drives the real parser and body readers without sockets.
type bytesConn struct{ r io.Reader }

func (c *bytesConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *bytesConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }

var fuzzSeeds = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-T: v\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nclose-delimited",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nraw",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
	"HTTP/1.1 200\nx:y\n\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(fuzzSeeds[0]), true)
	tr := New(Config{MaxResponseHeaderBytes: 4096})
	f.Cleanup(tr.CloseIdleConnections)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		req, _ := http.NewRequest(method, "http://fuzz.invalid/", nil)
		c := newConn(tr.hostPool("fuzz.invalid"), &bytesConn{bytes.NewReader(data)})
		resp, err := c.readResponse(req)
		if err != nil {
			return
		}
		if resp.StatusCode < 100 || resp.StatusCode > 999 {
			t.Fatalf("status %d accepted", resp.StatusCode)
		}
		for k, vv := range resp.Header {
			if textproto.CanonicalMIMEHeaderKey(k) != k || !isToken(k) {
				t.Fatalf("non-canonical or invalid key %q", k)
			}
			for _, v := range vv {
				if !validFieldValue(v) || v != strings.Trim(v, " \t") {
					t.Fatalf("bad value %q", v)
				}
			}
		}
		if len(resp.Header["Content-Length"]) > 0 && len(resp.TransferEncoding) > 0 {
			t.Fatal("both Content-Length and chunked accepted")
		}
		body, berr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if berr == nil && resp.ContentLength >= 0 && method == "GET" && resp.StatusCode >= 200 &&
			resp.StatusCode != 204 && resp.StatusCode != 304 && int64(len(body)) != resp.ContentLength {
			t.Fatalf("read %d bytes, ContentLength %d", len(body), resp.ContentLength)
		}

		// Differential check against net/http where both accept.
		std, serr := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), req)
		if serr != nil || std.StatusCode < 200 { // ReadResponse does not skip 1xx
			return
		}
		stdBody, sberr := io.ReadAll(io.LimitReader(std.Body, 1<<20))
		if std.StatusCode != resp.StatusCode {
			t.Fatalf("status %d, net/http %d", resp.StatusCode, std.StatusCode)
		}
		if berr == nil && sberr == nil && !bytes.Equal(body, stdBody) {
			t.Fatalf("body %q, net/http %q", body, stdBody)
		}
	})
}
