// Package proxyproto accepts and sends the PROXY protocol (v1 text, v2
// binary; haproxy.org/download/3.0/doc/proxy-protocol.txt) on top of
// github.com/pires/go-proxyproto's parser and header types.
//
// Accepting: AcceptConfig.Read (L4 listeners, which keep the raw
// *net.TCPConn for splice) and Listener (HTTP listeners). Only peers in
// Trusted may send a header; a header from anyone else is refused, never
// believed. Sending: Header / HeaderDatagram build what an upstream
// connection or datagram starts with; DialContext wraps a dialer for
// net/http transports.
//
// Trade-offs. The spec lets a receiver wait for the header; a listener
// that also serves clients without one cannot tell "slow proxy" from
// "client that speaks first later" or "server-first protocol", so the wait
// is bounded by a sub-second Timeout and only as many bytes as have
// arrived are looked at: a client whose first bytes cannot begin a
// signature is released at once, a silent one after Timeout. A signature
// prefix that then stalls is refused rather than passed on. Untrusted
// peers are read at most 16 bytes (one bufio minimum buffer) to detect a
// signature; everything read past a header is handed back as Rest. The
// library parses; this package only decides when to call it and whom to
// believe.
package proxyproto

import (
	"errors"
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
