package tcpproxy

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// Mode is what a listener does with the first bytes of a connection.
type Mode int

const (
	// Plain forwards the bytes as they come (listener protocol tcp); the
	// ClientHello is peeked only when a route matches on SNI or ALPN, so
	// TLS passes through untouched.
	Plain Mode = iota
	// Terminate completes a TLS handshake with Config.TLS, routes on the
	// negotiated server name and ALPN protocol, and forwards the plaintext
	// (listener protocol tls).
	Terminate
	// Mixed peeks every ClientHello: a connection a route matches is passed
	// through raw, every other one is handed to the HTTPS server through
	// Server.HTTPListener with the peeked bytes replayed (listener protocol
	// https with L4 routes attached).
	Mixed
)

// Config is one listener's TCP forwarding. The zero value is a Plain
// listener without limits, PROXY protocol, idle timeout, metrics or
// access log.
type Config struct {
	// Listener names the listener in metrics and logs.
	Listener string
	Mode     Mode
	// TLS is the server configuration of Terminate mode (required there).
	// For ALPN routes to match, its NextProtos must offer their protocols:
	// Terminate routes on the negotiated protocol, not on the offer.
	TLS *tls.Config
	// Accept reads PROXY protocol headers from trusted peers; nil = off
	// (a header is then just bytes of the stream).
	Accept *proxyproto.AcceptConfig
	// MaxConns caps the connections open at once (from accept to close,
	// including those still being routed); a connection over the cap is
	// closed at once and counted with result "limited". 0 = no cap.
	MaxConns int
	// PeekTimeout bounds reading the ClientHello (0 = DefaultPeekTimeout).
	PeekTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake of Terminate mode
	// (0 = DefaultHandshakeTimeout).
	HandshakeTimeout time.Duration
	// Tracker records every forwarded connection by target, for draining;
	// nil = a tracker of this server's own.
	Tracker *l4.Tracker
	// Metrics receives one record per connection; nil = none.
	Metrics *observe.L4Metrics
	// AccessLog receives one line per connection; nil = none.
	AccessLog *observe.AccessLog
	// Log receives operational messages (debug level per connection);
	// nil = discarded.
	Log *slog.Logger
	// DefaultIdleTimeout applies to routes whose IdleTimeout is 0 (the
	// listener's timeouts.idle); 0 here too = no idle timeout.
	DefaultIdleTimeout time.Duration
}

// Defaults of Config's zero fields.
const (
	// DefaultPeekTimeout is generous for a client that sends its hello at
	// once, and short enough that a silent client is routed without SNI
	// soon (server-first protocols).
	DefaultPeekTimeout = 5 * time.Second
	// DefaultHandshakeTimeout bounds a TLS handshake, as net/http's
	// TLSHandshakeTimeout does for clients.
	DefaultHandshakeTimeout = 10 * time.Second
)
