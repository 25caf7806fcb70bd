package tcpproxy

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

// maxPicks bounds the picks one connect attempt makes to find a target
// below MaxConnsPerTarget.
const maxPicks = 32

// connect picks a target and connects to it, trying another target after
// a failed connect up to b.ConnectAttempts (HAProxy's redispatch), so a
// dead target costs a client nothing while another is up. Every outcome
// is reported to passive health checking and, as the connect latency, to
// the target's latency estimate (what p2c_ewma steers by at L4). The
// returned target has been Begun; the caller Ends it. On failure the
// reason is no_target (nothing to try) or connect_failed.
func (c *conn) connect(ctx context.Context, b *l4.Backend) (net.Conn, *balancer.Target, string) {
	attempts := b.ConnectAttempts
	if attempts <= 0 {
		attempts = l4.DefaultConnectAttempts
	}
	timeout := b.ConnectTimeout
	if timeout <= 0 {
		timeout = l4.DefaultConnectTimeout
	}
	// No TCP keep-alive probes (4 setsockopt calls per connection): the
	// idle timeout ends dead connections, as in HAProxy and NGINX, where
	// keep-alive on the server side is off by default too.
	d := net.Dialer{Timeout: timeout, KeepAlive: -1}
	req := c.info.BalancerRequest()
	var skip *balancer.Target
	reason := reasonNoTarget
	for range attempts {
		t := pick(b, req, skip)
		if t == nil {
			break
		}
		start := time.Now()
		up, err := d.DialContext(ctx, "tcp", t.Addr)
		if err != nil && ctx.Err() != nil {
			t.End() // the server closed: not the target's fault
			return nil, nil, reasonShutdown
		}
		t.Observe(time.Since(start), err != nil)
		if b.Report != nil {
			b.Report(t, err)
		}
		if err == nil {
			return up, t, ""
		}
		t.End()
		c.s.cfg.Log.Debug("l4 connect failed", "listener", c.s.cfg.Listener, "upstream", b.Upstream, "target", t.Addr, "err", err)
		skip, reason = t, reasonConnectFailed
	}
	return nil, nil, reason
}

// pick returns a Begun target other than skip that is below the
// backend's MaxConnsPerTarget, or nil. The cap is checked after Begin, so
// concurrent connections cannot overshoot it; it counts everything in
// flight on the target, HTTP requests included when the upstream is
// shared with L7 routes.
func pick(b *l4.Backend, req *http.Request, skip *balancer.Target) *balancer.Target {
	for range maxPicks {
		t := b.Pool.Pick(req, skip)
		if t == nil {
			return nil
		}
		t.Begin()
		if b.MaxConnsPerTarget <= 0 || t.InFlight() <= int64(b.MaxConnsPerTarget) {
			return t
		}
		t.End()
		skip = t
	}
	return nil
}

// sendPrefix writes the PROXY header (if the backend wants one) and the
// client bytes read so far to the target, in one write bounded by the
// connect timeout.
func (c *conn) sendPrefix(b *l4.Backend) error {
	var hdr []byte
	if b.ProxyProtocol > 0 {
		var err error
		hdr, err = proxyproto.Header(b.ProxyProtocol, c.info.Client, c.info.Local, c.info.SNI, c.info.ALPN)
		if err != nil {
			return err
		}
	}
	if len(hdr) == 0 && len(c.prefix) == 0 {
		return nil
	}
	timeout := b.ConnectTimeout
	if timeout <= 0 {
		timeout = l4.DefaultConnectTimeout
	}
	c.upstream.SetWriteDeadline(time.Now().Add(timeout))
	bufs := net.Buffers{hdr, c.prefix}
	_, err := bufs.WriteTo(c.upstream)
	c.upstream.SetWriteDeadline(time.Time{})
	if err == nil {
		c.up += int64(len(c.prefix))
	}
	return err
}
