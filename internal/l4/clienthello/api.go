// Package clienthello reads the server name (SNI) and ALPN list from a TLS
// ClientHello without terminating TLS, so a connection can be routed by
// name and passed through to a backend that holds the certificate.
//
// Trade-offs: the parser checks the structure of the ClientHello (the
// length-prefixed vectors of RFC 8446 §4.1.2, no duplicate extensions,
// the SNI and ALPN rules crypto/tls applies) but not the contents of
// other extensions: the backend that terminates TLS validates those, and
// a hello crypto/tls accepts is always accepted here with the same
// ServerName and ALPN (FuzzRead checks this). Every byte read is handed
// back so the stream can be replayed unchanged; that costs one copy of at
// most MaxHelloBytes per connection, which passthrough needs anyway. The
// caller owns the clock: Read has no timeout of its own.
package clienthello

import (
	"errors"
	"io"
)

// MaxHelloBytes bounds how much is read looking for a ClientHello: a
// record is at most 16 KiB + header; hellos split over several records
// (post-quantum key shares make them larger than one segment) are
// reassembled up to this bound.
const MaxHelloBytes = 64 << 10

// Info is what the ClientHello said.
type Info struct {
	// TLS is false when the first bytes are not a TLS handshake record;
	// then ServerName and ALPN are empty and the connection is plain.
	TLS bool
	// ServerName is the lower-cased host_name of the SNI extension
	// (RFC 6066 §3), without a trailing dot; "" when absent.
	ServerName string
	// ALPN lists the offered protocols (RFC 7301), in order.
	ALPN []string
}

// ErrMalformed is returned for a TLS record that is not a well-formed
// ClientHello.
var ErrMalformed = errors.New("clienthello: malformed ClientHello")

// Read reads from r until it has a whole ClientHello (or knows the stream
// is not TLS) and returns what it said plus every byte it read, which the
// caller must replay to whoever handles the connection next. The caller
// bounds the time (a deadline on the connection).
//
// A stream whose first byte is not a handshake record (RFC 8446 §5.1,
// ContentType 22) is reported as Info{TLS: false} after a single Read, so
// a plain-TCP client is not held up. Errors: ErrMalformed (wrapped) for a
// TLS stream that is not a ClientHello or exceeds MaxHelloBytes; r's own
// error (io.ErrUnexpectedEOF for a stream that ends early) otherwise. In
// every case read holds all bytes consumed from r.
func Read(r io.Reader) (info Info, read []byte, err error) {
	rr := recordReader{r: r}
	if err := rr.first(); err != nil {
		return Info{}, rr.buf, err
	}
	if rr.buf[0] != recordTypeHandshake {
		return Info{}, rr.buf, nil
	}
	msg, err := rr.handshakeMessage()
	if err != nil {
		return Info{}, rr.buf, err
	}
	info, err = parse(msg)
	return info, rr.buf, err
}
