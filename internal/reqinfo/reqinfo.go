// Package reqinfo carries what Gatehouse learns about one request through
// its handler chain: who the client is, which route matched, which target
// answered. One Info is allocated per request and placed in its context.
package reqinfo

import (
	"context"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/pathparams"
)

// Info is the per-request record shared by the listener, the route chain,
// the proxy and the access log. Fields are written by one goroutine at a
// time as the request moves down the chain; nothing reads them concurrently.
type Info struct {
	// Start is when the request was received.
	Start time.Time
	// ClientIP is the client address, taken from X-Forwarded-For only when
	// the direct peer is a trusted proxy.
	ClientIP netip.Addr
	// PeerTrusted reports that the direct peer is a trusted proxy, so its
	// X-Forwarded-* and X-Request-Id headers are believed.
	PeerTrusted bool
	// RequestID is the X-Request-Id sent upstream and returned to the client.
	RequestID string
	// Route is the name of the matched route ("" when none matched).
	Route string
	// Path is the normalised request path, the one matched and forwarded.
	// Filters that rewrite the path update it.
	Path string
	// Params are the route's path template parameters.
	Params pathparams.Params
	// Target is the upstream target (host:port) of the last attempt.
	Target string
	// Attempts counts upstream attempts (retries included).
	Attempts int
	// UpstreamError says why the proxy failed ("" on success), for the log.
	UpstreamError string
	// Identity is who the route's authentication accepted (nil when the
	// route has none, or let an anonymous request through).
	Identity *identity.Identity
	// Compose summarises a composition's steps for the access log
	// ("user:ok:12ms,orders:omitted:500ms"; "" for other actions).
	Compose string
}

// infoCtx carries the Info. It is not a plain context.WithValue because
// that hides the parent's AfterFunc method: context.WithTimeout under it
// would then start a goroutine per request to watch the parent.
type infoCtx struct {
	context.Context
	info *Info
}

type key struct{}

func (c *infoCtx) Value(k any) any {
	if k == (key{}) {
		return c.info
	}
	return c.Context.Value(k)
}

// AfterFunc lets child contexts register on the parent without a
// watcher goroutine (see context.WithCancel's afterFuncer).
func (c *infoCtx) AfterFunc(f func()) func() bool {
	if a, ok := c.Context.(interface{ AfterFunc(func()) func() bool }); ok {
		return a.AfterFunc(f)
	}
	return context.AfterFunc(c.Context, f)
}

// NewContext returns ctx carrying info.
func NewContext(ctx context.Context, info *Info) context.Context {
	return &infoCtx{Context: ctx, info: info}
}

// FromContext returns the request's Info, or nil outside a Gatehouse listener.
func FromContext(ctx context.Context) *Info {
	info, _ := ctx.Value(key{}).(*Info)
	return info
}
