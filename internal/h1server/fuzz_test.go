package h1server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nX-Multi: 1\r\nx-multi: 2\r\n\r\n",
	"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n5\r\nhello\r\n0\r\nX-T: v\r\n\r\n",
	"GET http://example.com/p%20q?x HTTP/1.1\r\nHost: other\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
	"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"\r\nGET /%zz HTTP/1.1\nHost: x\n\n",
	"GET / HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	"GET /?? HTTP/1.1\r\nHost: x\r\nPragma: no-cache\r\nExpect: 100-continue\r\n\r\n",
	"GET //x/../y;p=1?q HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
}

// FuzzReadRequest drives the request parser: it must never panic, and any
// head it accepts must be accepted by net/http's ReadRequest with the same
// method, target, URL, host, framing and fields.
func FuzzReadRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), readBufSize)
		head, err := readHead(br, nil, 8192)
		if err != nil {
			return
		}
		headCopy := string(head)
		var ph parsedHead
		var vals [16]string
		if _, err := parseHead(head, nil, vals[:], &ph); err != nil {
			return
		}
		var u url.URL
		pu, err := parseTarget(ph.method, ph.target, &u)
		if err != nil {
			return
		}
		// net/http does not skip leading empty lines.
		std, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.TrimLeft(headCopy, "\r\n"))))
		if err != nil {
			t.Fatalf("accepted, net/http refuses: %v\n%q", err, headCopy)
		}
		if std.Method != ph.method || std.RequestURI != ph.target || std.ProtoMinor != ph.minor {
			t.Fatalf("request line: %q %q %d, net/http %q %q %d", ph.method, ph.target, ph.minor, std.Method, std.RequestURI, std.ProtoMinor)
		}
		if !reflect.DeepEqual(*pu, *std.URL) {
			t.Fatalf("URL %#v, net/http %#v", *pu, *std.URL)
		}
		host := ph.host
		if pu.Host != "" {
			host = pu.Host
		}
		if host != std.Host {
			t.Fatalf("host %q, net/http %q", host, std.Host)
		}
		cl := ph.contentLength
		if ph.chunked {
			cl = -1
		} else if cl < 0 {
			cl = 0
		}
		if cl != std.ContentLength {
			t.Fatalf("ContentLength %d, net/http %d", cl, std.ContentLength)
		}
		if ph.closeConn != std.Close {
			t.Fatalf("Close %v, net/http %v", ph.closeConn, std.Close)
		}
		// The server-side removals net/http does after ReadRequest.
		want := std.Header.Clone()
		for _, k := range []string{"Host", "Expect", "Transfer-Encoding", "Trailer"} {
			delete(want, k)
		}
		got := ph.header.Clone()
		delete(got, "Trailer")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("header %q\nnet/http %q", got, want)
		}
		io.Copy(io.Discard, std.Body)
	})
}
