package listener

import (
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies decides whose X-Forwarded-For is believed. The zero value
// trusts nobody, which is the safe default: a client can write any
// X-Forwarded-For it likes, so only a peer we know appends honestly to it.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// NewTrustedProxies returns a set trusting the given networks.
func NewTrustedProxies(prefixes []netip.Prefix) TrustedProxies {
	ps := make([]netip.Prefix, len(prefixes))
	for i, p := range prefixes {
		ps[i] = p.Masked()
	}
	return TrustedProxies{prefixes: ps}
}

// Contains reports whether addr is a trusted proxy.
func (t TrustedProxies) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Empty reports whether nobody is trusted.
func (t TrustedProxies) Empty() bool { return len(t.prefixes) == 0 }

// ClientIP resolves the client address of r. The direct peer is the answer
// unless it is a trusted proxy; then X-Forwarded-For is walked from the
// right (the hop nearest to us) past every trusted proxy, and the first
// untrusted address is the client. Walking from the right, not taking the
// leftmost entry, is what stops a client from choosing its own address.
// peerTrusted reports whether the direct peer was trusted.
func (t TrustedProxies) ClientIP(r *http.Request) (client netip.Addr, peerTrusted bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	client = ap.Addr().Unmap()
	if len(t.prefixes) == 0 || !t.Contains(client) {
		return client, false
	}
	values := r.Header["X-Forwarded-For"]
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var part string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				part, v = v[j+1:], v[:j]
			} else {
				part, v = v, ""
			}
			ip, err := netip.ParseAddr(strings.TrimSpace(part))
			if err != nil {
				// A malformed hop: stop believing the chain here.
				return client, true
			}
			client = ip.Unmap()
			if !t.Contains(client) {
				return client, true
			}
		}
	}
	return client, true
}
