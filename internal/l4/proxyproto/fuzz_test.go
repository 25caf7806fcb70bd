package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// chunkConn serves data in chunks of a fixed size, then EOF, from a
// trusted or untrusted peer; deadlines are accepted and ignored (EOF ends
// every wait).
type chunkConn struct {
	net.Conn // nil
	data     []byte
	chunk    int
	consumed int
	peer     net.Addr
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data[:min(c.chunk, len(c.data))])
	c.data = c.data[n:]
	c.consumed += n
	return n, nil
}
func (c *chunkConn) RemoteAddr() net.Addr            { return c.peer }
func (c *chunkConn) SetReadDeadline(time.Time) error { return nil }

// FuzzRead checks, for a trusted and an untrusted peer and for chunked
// delivery: no panic; an untrusted peer is read at most 16 bytes and
// never yields addresses; a trusted one at most a maximal v2 header plus
// one buffer; Rest is exactly the bytes read and not consumed by a header
// (the stream is data = header ‖ Rest ‖ unread); errors are ErrRefused.
// Seeds: testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\nhello"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		peer := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
		for _, a := range []*AcceptConfig{{Trusted: loopback}, {Trusted: elsewhere}, {Trusted: loopback, Required: true}} {
			c := &chunkConn{data: data, chunk: int(chunk%64) + 1, peer: peer}
			res, err := a.Read(c)
			trusted := a.Trusted[0] == loopback[0]
			if err != nil && !errors.Is(err, ErrRefused) {
				t.Fatalf("error %v is not ErrRefused", err)
			}
			if !trusted && (c.consumed > untrustedBuf || res.Source.IsValid()) {
				t.Fatalf("untrusted: consumed %d, result %+v", c.consumed, res)
			}
			if c.consumed > 16+4096+trustedBuf {
				t.Fatalf("consumed %d bytes", c.consumed)
			}
			if err == nil && !bytes.Equal(res.Rest, data[c.consumed-len(res.Rest):c.consumed]) {
				t.Fatalf("Rest %q is not the tail of the %d bytes read", res.Rest, c.consumed)
			}
			if !trusted && err == nil && len(res.Rest) != c.consumed {
				t.Fatalf("untrusted peer: %d of %d bytes read are not in Rest", c.consumed-len(res.Rest), c.consumed)
			}
		}
	})
}
