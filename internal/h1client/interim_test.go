package h1client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
)

func TestInterimResponsesReportedToTrace(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\nLink: </b.js>\r\n\r\n"+
			"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
	})
	tr := newTestTransport(t, Config{})
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, fmt.Sprintf("%d %q", code, h["Link"]))
		return nil
	}}
	req := mustReq(t, "GET", s.URL(), nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, body := do(t, tr, req)
	if resp.StatusCode != 200 || body != "done" || resp.Header.Get("Link") != "" {
		t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
	}
	want := []string{`100 []`, `103 ["</a.css>; rel=preload" "</b.js>"]`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("interim responses %q, want %q", got, want)
	}
}

func TestTooManyInterimResponses(t *testing.T) {
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", maxInterim+1)+
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	tr := newTestTransport(t, Config{})
	n := 0
	trace := &httptrace.ClientTrace{Got1xxResponse: func(int, textproto.MIMEHeader) error { n++; return nil }}
	req := mustReq(t, "GET", s.URL(), nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	if _, err := tr.RoundTrip(req); !errors.Is(err, ErrMalformedResponse) {
		t.Fatalf("err %v, want a malformed response", err)
	}
	if n != maxInterim {
		t.Fatalf("%d interim responses reported, want %d", n, maxInterim)
	}
}
