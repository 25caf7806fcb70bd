package proxy

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// TargetHeaders edits the request headers sent to particular targets of
// the pool, keyed by target host:port: Gateway API's backendRef-level
// RequestHeaderModifier, which applies only when the request goes to that
// backend, so in a weighted split it can only run once the target is
// picked. Each attempt gets its own copy of the headers, so a retry on
// another target never carries the previous target's edits. Targets
// without an entry pay nothing.
type TargetHeaders map[string]func(http.Header)

// targetHeader is the header to send to t: base itself, or a copy of it
// edited for t. base is the request's headers as the proxy prepared them,
// before any target's edit.
func (th TargetHeaders) targetHeader(base http.Header, t *balancer.Target) http.Header {
	edit := th[t.Addr]
	if edit == nil {
		return base
	}
	h := base.Clone()
	edit(h)
	return h
}
