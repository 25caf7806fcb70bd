// Package clienthello reads the server name (SNI) and ALPN list from a TLS
// ClientHello without terminating TLS, so a connection can be routed by
// name and passed through to a backend that holds the certificate.
//
// STUB: signatures fixed by the integrator; the l4-peek worker implements
// them (and may add files), keeping these exported names and meanings.
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
func Read(r io.Reader) (info Info, read []byte, err error) {
	return Info{}, nil, errors.New("clienthello: not implemented")
}
