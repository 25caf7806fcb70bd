// Package ipfilter allows or refuses requests by client IP address.
//
// The address is the one the listener resolved through trusted proxies
// (reqinfo.Info.ClientIP); the filter never reads X-Forwarded-For itself,
// so a client cannot talk its way past it with a forged header.
package ipfilter

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Config lists the prefixes a route allows and denies.
type Config struct {
	// Allow, when non-empty, is the only address space let through.
	// Empty means every address not in Deny.
	Allow []netip.Prefix
	// Deny is refused even when Allow also covers it: deny wins.
	Deny []netip.Prefix
}

// Filter is a compiled Config. It is safe for concurrent use.
type Filter struct {
	allow, deny ranges
	// allowAll is set when Allow was empty.
	allowAll bool
}

// New compiles cfg. Prefixes with host bits set (10.0.0.1/8) are masked;
// IPv4-mapped IPv6 prefixes (::ffff:10.0.0.0/104) are taken as the IPv4
// prefix they denote, since addresses are unmapped before matching. Other
// IPv6 prefixes, ::/0 included, match only IPv6 clients.
func New(cfg Config) (*Filter, error) {
	allow, err := compile("allow", cfg.Allow)
	if err != nil {
		return nil, err
	}
	deny, err := compile("deny", cfg.Deny)
	if err != nil {
		return nil, err
	}
	return &Filter{allow: allow, deny: deny, allowAll: len(cfg.Allow) == 0}, nil
}

func compile(list string, ps []netip.Prefix) (ranges, error) {
	var b builder
	for i, p := range ps {
		if !p.IsValid() {
			return ranges{}, fmt.Errorf("ipfilter: %s[%d]: invalid prefix %q", list, i, p.String())
		}
		b.add(p)
	}
	return b.build(), nil
}

// Allowed reports whether ip may pass. Deny wins over Allow. An invalid
// (zero) address, as when the client IP could not be determined, is
// refused when Allow is non-empty and allowed otherwise (Deny cannot
// match it). IPv4-mapped IPv6 addresses are unmapped first, so
// ::ffff:10.1.2.3 matches 10.0.0.0/8. The zone, if any, is ignored.
func (f *Filter) Allowed(ip netip.Addr) bool {
	if !ip.IsValid() {
		return f.allowAll
	}
	ip = ip.Unmap()
	if f.deny.contains(ip) {
		return false
	}
	return f.allowAll || f.allow.contains(ip)
}

// Wrap refuses requests whose client IP is not Allowed with 403
// problem+json. The IP is reqinfo.FromContext(r.Context()).ClientIP;
// outside a Gatehouse listener (no Info) it is the zero address.
func (f *Filter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ip netip.Addr
		if info := reqinfo.FromContext(r.Context()); info != nil {
			ip = info.ClientIP
		}
		if !f.Allowed(ip) {
			problem.Write(w, r, http.StatusForbidden, "the client address is not allowed")
			return
		}
		next.ServeHTTP(w, r)
	})
}
