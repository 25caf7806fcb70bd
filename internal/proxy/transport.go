package proxy

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Upstream protocols accepted by TransportConfig.Protocol.
const (
	// ProtocolAuto speaks HTTP/1.1 to http:// targets and lets ALPN choose
	// between h2 and http/1.1 on https:// targets.
	ProtocolAuto = "auto"
	// ProtocolHTTP1 speaks HTTP/1.1 only, on http:// and https:// targets.
	ProtocolHTTP1 = "http1"
	// ProtocolHTTP2 speaks HTTP/2 only: h2c with prior knowledge on http://
	// targets (what gRPC servers expect) and h2 on https:// targets.
	ProtocolHTTP2 = "http2"
)

// TransportConfig describes how to reach an upstream's targets.
type TransportConfig struct {
	// Protocol is ProtocolAuto (also for ""), ProtocolHTTP1 or ProtocolHTTP2.
	// Configuration validation rejects other values; NewTransport treats
	// them as ProtocolAuto rather than failing.
	Protocol string
	// TLS is used for https:// targets (CA pool, ServerName for SNI and
	// verification, client certificates); nil means system roots. It is
	// cloned, so the caller may keep using it.
	TLS *tls.Config
	// ConnectTimeout bounds the TCP connect and, separately, the TLS
	// handshake; 0 means no limit beyond the operating system's.
	ConnectTimeout time.Duration
	// IdleTimeout closes pooled connections idle for this long; 0 keeps them.
	IdleTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is written; 0 means no limit.
	ResponseHeaderTimeout time.Duration
	// MaxIdlePerTarget caps pooled idle connections per target. 0 keeps
	// none (keep-alive off), as the configuration documents, rather than
	// net/http's default of 2.
	MaxIdlePerTarget int
	// Breaker, if set, is the upstream's circuit breaker; the transport
	// enforces its MaxConnections by counting the connections it opens.
	Breaker *Breaker
	// ProxyProtocol, 1 or 2, starts every connection with a PROXY header
	// naming the request's client (reqinfo's ClientIP). Such a connection
	// belongs to one client, and net/http pools across clients, so
	// keep-alive is off: HTTPS upstreams that want PROXY headers pay a
	// handshake per request (plain http:// targets use h1client, which
	// pools per client instead).
	ProxyProtocol int
}

// IdleCloser is implemented by the transports NewTransport returns; call
// CloseIdleConnections when an upstream or a target is removed.
type IdleCloser interface {
	CloseIdleConnections()
}

var _ IdleCloser = (*http.Transport)(nil)

// bufferSize is the size of transport socket buffers and of the pooled
// body copy buffers: one 32 KiB read moves a typical response in one go.
const bufferSize = 32 << 10

// NewTransport builds the transport shared by every request to one
// upstream; build one per upstream, never one per request, or connection
// reuse is lost. The result is an *http.Transport and implements IdleCloser.
func NewTransport(c TransportConfig) http.RoundTripper {
	dialer := &net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		// Never Proxy: ProxyFromEnvironment: a gateway must not silently
		// send upstream traffic through whatever HTTP_PROXY says.
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   c.ConnectTimeout,
		MaxIdleConns:          0, // unlimited overall; the per-target cap is what matters
		MaxIdleConnsPerHost:   c.MaxIdlePerTarget,
		DisableKeepAlives:     c.MaxIdlePerTarget <= 0,
		IdleConnTimeout:       c.IdleTimeout,
		ResponseHeaderTimeout: c.ResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		// The client's Accept-Encoding is forwarded untouched; the
		// transport must neither add its own nor decompress responses.
		DisableCompression: true,
		WriteBufferSize:    bufferSize,
		ReadBufferSize:     bufferSize,
		Protocols:          new(http.Protocols),
	}
	if b := c.Breaker; b != nil && b.maxConns > 0 {
		t.DialContext = b.limitDial(dialer.DialContext)
	}
	if c.ProxyProtocol != 0 {
		t.DialContext = proxyproto.DialContext(t.DialContext, c.ProxyProtocol, requestClient)
		t.DisableKeepAlives = true
	}
	if c.TLS != nil {
		t.TLSClientConfig = c.TLS.Clone()
	}
	switch c.Protocol {
	case ProtocolHTTP1:
		t.Protocols.SetHTTP1(true)
	case ProtocolHTTP2:
		// Without HTTP1 in the set, http:// targets get h2c prior knowledge.
		t.Protocols.SetHTTP2(true)
		t.Protocols.SetUnencryptedHTTP2(true)
	default:
		t.ForceAttemptHTTP2 = true
		t.Protocols.SetHTTP1(true)
		t.Protocols.SetHTTP2(true)
	}
	return t
}

// requestClient is the client of the request a dial is for (port
// unknown), or no address outside a listener.
func requestClient(ctx context.Context) netip.AddrPort {
	if info := reqinfo.FromContext(ctx); info != nil && info.ClientIP.IsValid() {
		return netip.AddrPortFrom(info.ClientIP.Unmap(), 0)
	}
	return netip.AddrPort{}
}

// defaultTransport serves handlers built without Options.Transport, so a
// misconfigured route still works instead of dereferencing nil.
var defaultTransport = sync.OnceValue(func() http.RoundTripper {
	return NewTransport(TransportConfig{ConnectTimeout: 10 * time.Second, IdleTimeout: 90 * time.Second, MaxIdlePerTarget: 64})
})
