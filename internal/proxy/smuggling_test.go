package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// These tests speak raw HTTP/1.1 to the proxy served by a real http.Server
// to pin down which request-framing attacks net/http stops by itself and
// what the proxy adds (see "Request smuggling" in the package doc).

type framing struct {
	contentLength int64
	te            []string
	body          string
}

func framingUpstream(t *testing.T) (*atomic.Int32, <-chan framing, string) {
	var n atomic.Int32
	ch := make(chan framing, 4)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		b, _ := io.ReadAll(r.Body)
		ch <- framing{r.ContentLength, r.TransferEncoding, string(b)}
	})
	return &n, ch, up.URL
}

func TestContentLengthWithChunked(t *testing.T) {
	hits, got, upURL := framingUpstream(t)
	s := front(t, Options{Pool: newPool(t, upURL)})
	// A front proxy trusting Content-Length would see a 5-byte body and
	// then a second request "GET /smuggled"; Go's server reads chunked.
	res, br, _ := raw(t, hostOf(s), "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	f := <-got
	if f.body != "abc" || f.contentLength != -1 || len(f.te) != 1 || f.te[0] != "chunked" {
		t.Fatalf("upstream got %+v: want the chunked body alone, re-framed as chunked", f)
	}
	// net/http would serve the pipelined request on the same connection;
	// the proxy makes it close instead.
	if !res.Close {
		t.Fatalf("connection kept alive after a chunked request; header %v", res.Header)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("second response on the connection: %q", rest)
	}
	if hits.Load() != 1 {
		t.Fatalf("upstream got %d requests", hits.Load())
	}
}

func TestFramingRefusedByNetHTTP(t *testing.T) {
	hits, _, upURL := framingUpstream(t)
	s := front(t, Options{Pool: newPool(t, upURL)})
	cases := []struct {
		name, req string
		status    int
	}{
		{"unsupported transfer coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501},
		{"conflicting lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"invalid length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"space before colon", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, br, _ := raw(t, hostOf(s), tc.req)
			io.Copy(io.Discard, res.Body)
			if res.StatusCode != tc.status || !res.Close {
				t.Fatalf("status %d close %v, want %d and close", res.StatusCode, res.Close, tc.status)
			}
			if rest, _ := io.ReadAll(br); len(rest) != 0 {
				t.Fatalf("more on the connection: %q", rest)
			}
		})
	}
	if hits.Load() != 0 {
		t.Fatalf("upstream reached %d times", hits.Load())
	}
}

func TestMalformedChunking(t *testing.T) {
	_, _, upURL := framingUpstream(t)
	var upstreamErrors counter
	s := front(t, Options{Pool: newPool(t, upURL), OnUpstreamError: upstreamErrors.hook})
	for _, body := range []string{
		"zz\r\nabc\r\n0\r\n\r\n",         // not hex
		"3\r\nabcdef\r\n0\r\n\r\n",       // chunk longer than declared
		"3;" + strings.Repeat("x", 5000), // endless chunk extension
	} {
		res, br, _ := raw(t, hostOf(s), "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"+body+"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		io.Copy(io.Discard, res.Body)
		if res.StatusCode != 400 || !res.Close {
			t.Fatalf("%q: status %d close %v", body, res.StatusCode, res.Close)
		}
		if rest, _ := io.ReadAll(br); len(rest) != 0 {
			t.Fatalf("%q: more on the connection: %q", body, rest)
		}
	}
	if upstreamErrors.total() != 0 {
		t.Fatalf("client framing errors counted against the upstream: %d", upstreamErrors.total())
	}
}
