// Package proxyproto accepts and sends the PROXY protocol (v1 text, v2
// binary; haproxy.org/download/3.0/doc/proxy-protocol.txt) on top of
// github.com/pires/go-proxyproto's parser and header types.
//
// STUB: signatures fixed by the integrator; the l4-peek worker implements
// them (and may add files), keeping these exported names and meanings.
package proxyproto

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// DefaultTimeout bounds how long a trusted peer may take to send its
// header: sub-second, so a client that does not speak PROXY protocol (or a
// server-first protocol) is not stalled long.
const DefaultTimeout = 500 * time.Millisecond

// AcceptConfig says who may send a PROXY header. The zero value (no
// trusted peers) refuses every header.
type AcceptConfig struct {
	// Trusted peers may send a header; a header from any other peer is
	// refused (the connection is closed), never believed.
	Trusted []netip.Prefix
	// Timeout bounds reading the header (0 = DefaultTimeout).
	Timeout time.Duration
	// Required makes a trusted peer's header mandatory (HAProxy's
	// accept-proxy); otherwise a trusted peer may also connect without one.
	Required bool
}

// Result is what Read learned.
type Result struct {
	// Source and Destination are the addresses the header carried; both
	// zero when there was no header or it was a LOCAL command (health
	// checks of the sending proxy), so callers keep the socket's own.
	Source, Destination netip.AddrPort
	// SNI and ALPN are the v2 TLVs PP2_TYPE_AUTHORITY and PP2_TYPE_ALPN,
	// "" / nil when absent.
	SNI  string
	ALPN []string
	// Rest holds the bytes read past the header (client data that came in
	// the same segment); the caller must deliver them before reading c
	// again.
	Rest []byte
}

// ErrRefused is returned for a header from an untrusted peer, a missing
// header from a trusted one when Required, or a malformed header.
var ErrRefused = errors.New("proxy protocol: header refused")

// Read reads an optional header from c according to a, with the deadline
// a.Timeout (reset to none before it returns). An untrusted peer is read
// only far enough to refuse a header (up to 16 bytes, same timeout).
func (a *AcceptConfig) Read(c net.Conn) (Result, error) {
	return Result{}, errors.New("proxyproto: not implemented")
}

// Listener wraps ln for HTTP listeners: every accepted connection's header
// is read (per a) before it is handed out, its RemoteAddr/LocalAddr become
// the header's, and refused connections are closed, never returned.
// Reading happens in the connection's own first Read, not in Accept, so a
// slow peer never blocks the accept loop.
func Listener(ln net.Listener, a AcceptConfig) net.Listener { return ln }

// Header returns the header of version (1 or 2) for a connection from src
// to dst; for v2 it adds the TLVs AUTHORITY (sni, if not empty) and ALPN
// (the first of alpn, if any). Addresses of different families are sent
// as v1 UNKNOWN / v2 LOCAL... (see implementation).
func Header(version int, src, dst netip.AddrPort, sni string, alpn []string) ([]byte, error) {
	return nil, errors.New("proxyproto: not implemented")
}

// HeaderDatagram is Header for UDP (v2 only, DGRAM transport family),
// prefixed to every datagram.
func HeaderDatagram(src, dst netip.AddrPort) ([]byte, error) {
	return nil, errors.New("proxyproto: not implemented")
}
