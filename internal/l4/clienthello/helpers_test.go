package clienthello

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// recordConn is a net.Conn that records what is written to it and reports
// EOF on Read: a tls.Client handshake over it writes its ClientHello and
// then fails, which is all a test needs.
type recordConn struct {
	net.Conn // nil; only the methods below are called
	written  []byte
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.written = append(c.written, p...)
	return len(p), nil
}
func (c *recordConn) Read([]byte) (int, error)    { return 0, io.EOF }
func (c *recordConn) Close() error                { return nil }
func (c *recordConn) SetDeadline(time.Time) error { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error {
	return nil
}
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }

// realHello returns the ClientHello records crypto/tls's client sends for
// cfg.
func realHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c := &recordConn{}
	err := tls.Client(c, cfg).HandshakeContext(context.Background())
	if err == nil || len(c.written) == 0 {
		t.Fatalf("handshake into a recorder: err=%v, %d bytes", err, len(c.written))
	}
	return c.written
}

// reframe re-splits the handshake payload of records into records of at
// most size bytes (RFC 8446 §5.1 allows any fragmentation).
func reframe(t testing.TB, records []byte, size int) []byte {
	t.Helper()
	var payload []byte
	for len(records) > 0 {
		if len(records) < recordHeaderLen {
			t.Fatal("short record")
		}
		n := int(records[3])<<8 | int(records[4])
		payload = append(payload, records[recordHeaderLen:recordHeaderLen+n]...)
		records = records[recordHeaderLen+n:]
	}
	var out []byte
	for len(payload) > 0 {
		n := min(size, len(payload))
		out = append(out, recordTypeHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, payload[:n]...)
		payload = payload[n:]
	}
	return out
}

// tlsView is what crypto/tls's server makes of data: the ClientHelloInfo
// passed to GetConfigForClient, or ok=false when it never got that far.
func tlsView(data []byte) (hello *tls.ClientHelloInfo, ok bool) {
	errStop := errors.New("stop")
	cfg := &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		hello = chi
		return nil, errStop
	}}
	c := &replayConn{data: data}
	_ = tls.Server(c, cfg).HandshakeContext(context.Background())
	return hello, hello != nil
}

// replayConn serves data to Read, then EOF; writes are discarded.
type replayConn struct {
	recordConn
	data []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, nil
}

// countingReader counts bytes handed out and fails the test if Read is
// called more often than allowed (limit < 0 = any).
type countingReader struct {
	r     io.Reader
	n     int
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
