// Package wiretest is test support for checking what goes on the wire: a
// raw TCP origin that records the exact bytes of every request head it
// receives, the head reader behind it, and a check of a recorded head for
// fields nobody asked for. Tests of the proxy, the HTTP/1.1 client and the
// end-to-end suite share it (as they share redistest for Redis).
package wiretest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// ReadHead reads one message head, start line through the empty line,
// exactly as sent (line endings included).
func ReadHead(br *bufio.Reader) (string, error) {
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return head.String(), err
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String(), nil
		}
	}
}

// RecordingOrigin is a raw TCP origin on loopback that sends every request
// head it receives, as sent, to heads (buffered for 16) and answers each
// with 200 "ok" on the same connection. It stops with the test.
func RecordingOrigin(t testing.TB) (url string, heads <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					head, err := ReadHead(br)
					if err != nil {
						return
					}
					ch <- head
					if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), ch
}

// UnwantedFields lists the field lines of head that have an empty value
// or whose name is one of forbidden (canonical names): what a proxy sent
// that the client did not.
func UnwantedFields(head string, forbidden ...string) []string {
	var bad []string
	for _, line := range strings.Split(head, "\r\n")[1:] {
		if line == "" {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		if strings.TrimSpace(value) == "" {
			bad = append(bad, "empty field: "+line)
			continue
		}
		for _, f := range forbidden {
			if http.CanonicalHeaderKey(name) == f {
				bad = append(bad, "added: "+line)
			}
		}
	}
	return bad
}
