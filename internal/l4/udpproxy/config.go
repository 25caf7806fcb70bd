package udpproxy

import (
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// Defaults of Config's zero fields.
const (
	// DefaultMaxSessions bounds the session table (NGINX and HAProxy
	// leave UDP sessions to the file-descriptor limit; a bound that is
	// reached well before it keeps the gateway's other listeners alive).
	DefaultMaxSessions = 10000
	// DefaultIdleTimeout ends a session after this long without a
	// datagram either way, for routes that set no IdleTimeout.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultMaxDatagram is the read buffer size: the largest UDP
	// datagram, so nothing is truncated.
	DefaultMaxDatagram = 65535
)

// maxPending bounds the datagrams a session queues while its upstream
// socket is being opened, and maxPendingBytes what all sessions of a
// server queue together (a flood of spoofed sources towards a target
// whose name resolves slowly must not buffer MaxSessions × 16 × 64 KiB);
// more are dropped, as a full socket buffer would.
const (
	maxPending      = 16
	maxPendingBytes = 4 << 20
)

// Config is one UDP listener's forwarding configuration. The zero value
// is usable: 10000 sessions, 30s idle timeout, no metrics, no access log,
// a tracker of its own.
type Config struct {
	// Listener names the listener, for metrics and logs.
	Listener string
	// MaxSessions caps open sessions (0 or less = DefaultMaxSessions);
	// while the table is full, datagrams from new clients are dropped
	// and counted as dropped. There is no unlimited setting: every
	// session holds a socket.
	MaxSessions int
	// DefaultIdleTimeout ends a session idle this long when its route has
	// no IdleTimeout (0 = DefaultIdleTimeout). A session always expires:
	// a route's IdleTimeout of 0 ("never" for TCP) means this default.
	DefaultIdleTimeout time.Duration
	// Tracker records sessions by target so a reload can drain removed
	// targets; nil = a tracker of the server's own.
	Tracker *l4.Tracker
	// Metrics may be nil (no metrics).
	Metrics *observe.L4Metrics
	// AccessLog gets one line per session end; nil = off.
	AccessLog *observe.AccessLog
	// Log receives errors; nil = slog.Default().
	Log *slog.Logger
	// MaxDatagram is the size of read buffers (0 = DefaultMaxDatagram); a
	// longer datagram is truncated by the kernel.
	MaxDatagram int
}

func (c Config) withDefaults() Config {
	if c.MaxSessions <= 0 {
		c.MaxSessions = DefaultMaxSessions
	}
	if c.DefaultIdleTimeout <= 0 {
		c.DefaultIdleTimeout = DefaultIdleTimeout
	}
	if c.Tracker == nil {
		c.Tracker = l4.NewTracker()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.MaxDatagram <= 0 {
		c.MaxDatagram = DefaultMaxDatagram
	}
	return c
}
