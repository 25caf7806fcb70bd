// Package h1client is a lean HTTP/1.1 client http.RoundTripper for proxying
// to plain-HTTP upstreams.
//
// net/http.Transport runs a read and a write goroutine per connection and
// hands every request, response and body EOF across channels. On a 2-core
// proxy that bookkeeping is a large share of the CPU spent per request. This
// transport is synchronous: RoundTrip writes the request and reads the
// response head on the caller's goroutine, and the caller's Body.Read reads
// the body straight off the connection. Idle keep-alive connections sit in a
// per host:port LIFO stack and hold no buffers while idle.
//
// The price of being synchronous: the request body is written completely
// before the response is read, so full-duplex exchanges (a server that
// streams its response while still reading a large request body) are not
// supported; route those through net/http.Transport.
package h1client

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Config tunes a Transport. Zero fields take the documented defaults.
type Config struct {
	ConnectTimeout         time.Duration // dial timeout (default 5s)
	IdleTimeout            time.Duration // close idle pooled conns after this (default 90s)
	ResponseHeaderTimeout  time.Duration // 0 = none (the request context still bounds it)
	MaxIdlePerHost         int           // idle conns kept per host:port (default 512)
	MaxResponseHeaderBytes int64         // default 64 KiB; larger → error

	// OnStaleConn, if set, is called for every idle connection discarded
	// at checkout because the origin had closed it (or sent unsolicited
	// bytes on it) while it sat in the pool.
	OnStaleConn func()
	// OnRetry, if set, is called for every request sent again on a fresh
	// connection after a reused one failed before any response byte.
	OnRetry func()
	// ProxyProtocol, 1 or 2, starts every new connection with a PROXY
	// protocol header of that version naming the request's client
	// (proxyproto.go); 0 (or any other value) sends none.
	ProxyProtocol int
}

// Defaults for zero Config fields; the gateway's upstream settings
// default to the same values.
const (
	DefaultConnectTimeout         = 5 * time.Second
	DefaultIdleTimeout            = 90 * time.Second
	DefaultMaxIdlePerHost         = 512
	defaultMaxResponseHeaderBytes = 64 << 10
)

// Transport is an http.RoundTripper for http:// upstreams speaking HTTP/1.1.
// Create one with New (the zero value is not usable); it is safe for
// concurrent use.
type Transport struct {
	idleTimeout   time.Duration
	headerTimeout time.Duration
	maxIdle       int
	maxHeader     int
	dialer        net.Dialer
	onStale       func()
	onRetry       func()
	proxyVersion  int // 0, or the PROXY header version (proxyproto.go)

	// pools is copy-on-write: the hot path does one atomic load and a map
	// lookup, with no lock and no interface conversion of the key.
	pools   atomic.Pointer[map[string]*hostPool]
	poolsMu sync.Mutex

	janitor      *time.Timer
	janitorArmed atomic.Bool

	// clientPools are the idle stacks per target and client when
	// proxyVersion != 0 (proxyproto.go).
	clientMu    sync.Mutex
	clientPools map[clientKey]*hostPool
}

// New returns a Transport configured by c.
func New(c Config) *Transport {
	t := &Transport{
		idleTimeout:   c.IdleTimeout,
		headerTimeout: c.ResponseHeaderTimeout,
		maxIdle:       c.MaxIdlePerHost,
		onStale:       c.OnStaleConn,
		onRetry:       c.OnRetry,
	}
	if c.ProxyProtocol == 1 || c.ProxyProtocol == 2 {
		t.proxyVersion = c.ProxyProtocol
		t.clientPools = map[clientKey]*hostPool{}
	}
	if t.idleTimeout <= 0 {
		t.idleTimeout = DefaultIdleTimeout
	}
	if t.maxIdle <= 0 {
		t.maxIdle = DefaultMaxIdlePerHost
	}
	switch {
	case c.MaxResponseHeaderBytes <= 0:
		t.maxHeader = defaultMaxResponseHeaderBytes
	case c.MaxResponseHeaderBytes > 1<<30:
		t.maxHeader = 1 << 30
	default:
		t.maxHeader = int(c.MaxResponseHeaderBytes)
	}
	t.dialer.Timeout = c.ConnectTimeout
	if t.dialer.Timeout <= 0 {
		t.dialer.Timeout = DefaultConnectTimeout
	}
	empty := map[string]*hostPool{}
	t.pools.Store(&empty)
	// A stopped AfterFunc timer costs no goroutine; it is armed only while
	// idle connections exist (see sweep).
	t.janitor = time.AfterFunc(time.Hour, t.sweep)
	t.janitor.Stop()
	return t
}

// RoundTrip sends req over a pooled or new connection and reads the response
// head. The body, when there is one, is read from the connection by the
// caller; the connection returns to the pool when the body reaches EOF.
//
// A pooled connection the origin closed while idle is discarded before use
// (stale.go). When a reused connection still turns out to be closed (the
// close raced with the checkout: the request write fails, or the connection
// ends or is reset before the first response byte), the request is sent once
// more on a freshly dialed connection, whatever its method, as net/http and
// NGINX do for a cached keep-alive connection. Its body is sent again from
// req.GetBody or, without one, from the bytes this attempt read, kept up to
// maxReplayBytes; a larger body is not retried.
//
// The price (RFC 9112 §9.3.1): a POST the origin did receive before it
// closed the connection without a word would be applied twice. An origin
// closing an idle connection never read the request, and one that read it
// and died before answering is indistinguishable here; the retry is only
// made for a reused connection with not one response byte received, where
// the idle close is by far the likely cause.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	cl, err := checkRequest(req, body)
	if err != nil {
		closeBody(body)
		return nil, err
	}
	if cl == 0 && body != nil {
		// Following httputil.ReverseProxy: a zero ContentLength means no body.
		body.Close()
		body = nil
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(body)
		return nil, err
	}
	var hp *hostPool
	if t.proxyVersion == 0 {
		hp = t.hostPool(req.URL.Host)
	} else {
		hp = t.clientPool(req)
	}
	c, err := t.getConn(ctx, hp)
	if err != nil {
		closeBody(body)
		return nil, err
	}
	sent := body
	var rec *replayReader
	if body != nil && c.reused && req.GetBody == nil {
		rec = newReplayReader(body)
		sent = rec
	}
	resp, err := t.roundTripOnce(ctx, c, req, sent, cl)
	if err == nil || !isRetryable(err) || ctx.Err() != nil {
		if rec != nil {
			body.Close()
			rec.free()
		}
		return resp, err
	}
	switch {
	case body == nil:
	case rec != nil:
		if !rec.rewind() {
			// More was read than kept: a retry would send a truncated body.
			body.Close()
			rec.free()
			return nil, err
		}
	case req.GetBody != nil:
		nb, gerr := req.GetBody()
		if gerr != nil {
			return nil, err
		}
		sent = nb
		if sent == http.NoBody {
			sent = nil
		}
	default:
		return nil, err
	}
	if t.onRetry != nil {
		t.onRetry()
	}
	// A fresh dial, not another pooled connection: its siblings in the pool
	// are likely just as stale (server restart, idle timeout sweep).
	c, err = t.dial(ctx, hp)
	if err == nil {
		resp, err = t.roundTripOnce(ctx, c, req, sent, cl)
	} else if rec == nil {
		closeBody(sent)
	}
	if rec != nil {
		body.Close()
		rec.free()
	}
	return resp, err
}

// isRetryable reports the stale keep-alive signature (see opError).
func isRetryable(err error) bool {
	oe, ok := err.(*opError)
	return ok && oe.retryable
}

// roundTripOnce performs one attempt on c. It always consumes (closes) body
// and either hands c to the response or releases it.
func (t *Transport) roundTripOnce(ctx context.Context, c *conn, req *http.Request, body io.ReadCloser, cl int64) (*http.Response, error) {
	c.watch(ctx)
	werr := c.writeRequest(req, body, cl)
	closeBody(body)
	if werr != nil {
		oe, isNet := werr.(*opError)
		if !isNet || c.isAborted() {
			c.release(false)
			return nil, c.mapErr(werr)
		}
		// The server may have answered (e.g. 413) and closed before reading
		// the whole body; prefer its response over our write error.
		c.noReuse = true
		resp, rerr := c.readResponse(req)
		if rerr == nil {
			return resp, nil
		}
		roe, ok := rerr.(*opError)
		oe.retryable = oe.retryable && ok && roe.retryable
		return nil, werr
	}
	resp, err := c.readResponse(req)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// CloseIdleConnections closes every idle pooled connection. Connections in
// use are unaffected and may return to the pool afterwards.
func (t *Transport) CloseIdleConnections() {
	for _, hp := range *t.pools.Load() {
		hp.closeIdle(false)
	}
	for _, hp := range t.dropClientPools(func(*hostPool) bool { return true }) {
		hp.closeIdle(false)
	}
}

// CloseIdleFor closes idle connections to one host:port (used when a target
// is drained). Connections to it that are in use are closed when their
// response ends instead of being pooled. A missing ":80" is tolerated in
// either spelling.
func (t *Transport) CloseIdleFor(hostport string) {
	t.poolsMu.Lock()
	old := *t.pools.Load()
	next := make(map[string]*hostPool, len(old))
	var drop []*hostPool
	for k, hp := range old {
		if k == hostport || hp.addr == hostport || hp.addr == dialAddr(hostport) {
			drop = append(drop, hp)
			continue
		}
		next[k] = hp
	}
	if len(drop) > 0 {
		t.pools.Store(&next)
	}
	t.poolsMu.Unlock()
	drop = append(drop, t.dropClientPools(func(hp *hostPool) bool {
		return hp.addr == hostport || hp.addr == dialAddr(hostport)
	})...)
	for _, hp := range drop {
		hp.closeIdle(true)
	}
}

// hostPool returns the pool for a URL host, creating it on first use.
func (t *Transport) hostPool(key string) *hostPool {
	if hp := (*t.pools.Load())[key]; hp != nil {
		return hp
	}
	t.poolsMu.Lock()
	defer t.poolsMu.Unlock()
	old := *t.pools.Load()
	if hp := old[key]; hp != nil {
		return hp
	}
	hp := &hostPool{t: t, addr: dialAddr(key)}
	next := make(map[string]*hostPool, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[key] = hp
	t.pools.Store(&next)
	return hp
}

// dial opens a new connection. A cancelled context is reported as such, not
// as a connect error, so that callers do not retry a request the client gave
// up on.
func (t *Transport) dial(ctx context.Context, hp *hostPool) (*conn, error) {
	nc, err := t.dialer.DialContext(ctx, "tcp", hp.addr)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, &opError{op: "dial", addr: hp.addr, err: context.Cause(ctx)}
		}
		return nil, &connectError{addr: hp.addr, err: err}
	}
	if hp.client != nil {
		if err := t.sendProxyHeader(nc, hp); err != nil {
			nc.Close()
			return nil, &connectError{addr: hp.addr, err: err}
		}
	}
	return newConn(hp, nc), nil
}

// dialAddr adds the default port to a URL host that has none.
func dialAddr(host string) string {
	for i := len(host) - 1; i >= 0; i-- {
		switch host[i] {
		case ':':
			return host
		case ']':
			return host + ":80"
		}
	}
	return host + ":80"
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}
