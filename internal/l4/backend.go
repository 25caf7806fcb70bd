package l4

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// Backend is the upstream side of a route: a pool shared with L7 and how
// connections to its targets are made.
type Backend struct {
	// Upstream names the pool, for metrics and logs.
	Upstream string
	Pool     *balancer.Pool
	// ConnectTimeout bounds one connect attempt (0 = DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// ConnectAttempts is how many targets a TCP connection tries before
	// the client is closed (0 = DefaultConnectAttempts): a failed connect
	// is retried once on another target, as HAProxy's redispatch does.
	ConnectAttempts int
	// MaxConnsPerTarget caps open connections (UDP: sessions) per target;
	// a full target is skipped as if unavailable. 0 = no cap.
	MaxConnsPerTarget int
	// ProxyProtocol is 0 (none), 1 or 2: the PROXY protocol header sent
	// to the target before any client byte.
	ProxyProtocol int
	// Report feeds each connect outcome (err nil = connected) to passive
	// health checking; nil when the upstream has none.
	Report func(t *balancer.Target, err error)
}

// Defaults of Backend's zero fields.
const (
	DefaultConnectTimeout  = 5 * time.Second
	DefaultConnectAttempts = 2
)
