package h1client

import (
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// PROXY protocol to upstreams (Config.ProxyProtocol; spec:
// haproxy.org/download/3.0/doc/proxy-protocol.txt). A header is sent once,
// first thing on a connection, and names one client for the connection's
// whole life (spec §1: "the connection ... from the client"). So with it
// on, idle connections are kept per target AND client address: a
// connection is reused only for requests of the client its header named,
// as HAProxy does with send-proxy (such connections are private). Pools
// then live in a plain map under a mutex, created on a client's first
// request and dropped by the idle sweep once empty; the copy-on-write map
// of the no-PROXY hot path is untouched. The cost is fewer reused
// connections (one set per client) — the price of the upstream seeing
// true client addresses.

// clientKey names a client pool: target dial address and the client the
// header names (the zero AddrPort when unknown: PROXY UNKNOWN / LOCAL).
type clientKey struct {
	addr   string
	client netip.AddrPort
}

// clientOf is the client of req: reqinfo's ClientIP (the listener's
// resolution, X-Forwarded-For from trusted proxies included), with the
// port of req.RemoteAddr when that is the same address (the direct
// client), else port 0 (unknown). Outside a Gatehouse listener, no client.
func clientOf(req *http.Request) netip.AddrPort {
	info := reqinfo.FromContext(req.Context())
	if info == nil || !info.ClientIP.IsValid() {
		return netip.AddrPort{}
	}
	ip := info.ClientIP.Unmap()
	var port uint16
	if ap, err := netip.ParseAddrPort(req.RemoteAddr); err == nil && ap.Addr().Unmap() == ip {
		port = ap.Port()
	}
	return netip.AddrPortFrom(ip, port)
}

// clientPool returns the idle stack for req's target and client.
func (t *Transport) clientPool(req *http.Request) *hostPool {
	k := clientKey{addr: dialAddr(req.URL.Host), client: clientOf(req)}
	t.clientMu.Lock()
	defer t.clientMu.Unlock()
	hp := t.clientPools[k]
	if hp == nil {
		hp = &hostPool{t: t, addr: k.addr, client: &k}
		t.clientPools[k] = hp
	}
	return hp
}

// clientPut returns the pool a connection of hp goes back to: hp itself,
// registered again if the sweep dropped it while the connection was out,
// or the pool that replaced it. A dead pool (CloseIdleFor) stays itself,
// so put closes the connection.
func (t *Transport) clientPut(hp *hostPool) *hostPool {
	t.clientMu.Lock()
	defer t.clientMu.Unlock()
	hp.mu.Lock()
	dead := hp.dead
	hp.mu.Unlock()
	if dead {
		return hp
	}
	cur := t.clientPools[*hp.client]
	if cur == nil {
		t.clientPools[*hp.client] = hp
		return hp
	}
	return cur
}

// sweepClientPools is sweep for the client pools; empty ones are dropped.
func (t *Transport) sweepClientPools(cutoff time.Time, expired []*conn, remaining int) ([]*conn, int) {
	t.clientMu.Lock()
	defer t.clientMu.Unlock()
	for k, hp := range t.clientPools {
		hp.mu.Lock()
		expired = hp.expireLocked(cutoff, expired)
		n := len(hp.idle)
		hp.mu.Unlock()
		if n == 0 {
			delete(t.clientPools, k)
		}
		remaining += n
	}
	return expired, remaining
}

// dropClientPools removes and returns the client pools match selects.
func (t *Transport) dropClientPools(match func(*hostPool) bool) []*hostPool {
	if t.clientPools == nil {
		return nil
	}
	t.clientMu.Lock()
	defer t.clientMu.Unlock()
	var drop []*hostPool
	for k, hp := range t.clientPools {
		if match(hp) {
			drop = append(drop, hp)
			delete(t.clientPools, k)
		}
	}
	return drop
}

// sendProxyHeader writes the header for hp's client to a new connection,
// destination the dialled target.
func (t *Transport) sendProxyHeader(nc net.Conn, hp *hostPool) error {
	dst, _ := netip.ParseAddrPort(nc.RemoteAddr().String())
	h, err := proxyproto.Header(t.proxyVersion, hp.client.client, dst, "", nil)
	if err != nil {
		return err
	}
	nc.SetWriteDeadline(time.Now().Add(t.dialer.Timeout))
	_, err = nc.Write(h)
	nc.SetWriteDeadline(time.Time{})
	return err
}
