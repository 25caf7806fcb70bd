package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// resolve returns the de-duplicated, sorted endpoints of one spec. Every
// DNS query gets its own timeout, so one slow query cannot eat the round.
func (r *Resolver) resolve(ctx context.Context, s Spec) ([]endpoint, error) {
	if a, ok := s.literal(); ok {
		return []endpoint{{scheme: s.Scheme, addr: netip.AddrPortFrom(a, uint16(s.Port)), weight: s.Weight}}, nil
	}
	if s.SRV {
		return r.resolveSRV(ctx, s)
	}
	addrs, err := r.lookupIP(ctx, s.family(), s.Host)
	if err != nil {
		return nil, err
	}
	eps := make([]endpoint, 0, len(addrs))
	for _, a := range addrs {
		eps = append(eps, endpoint{scheme: s.Scheme, addr: netip.AddrPortFrom(a, uint16(s.Port)), weight: s.Weight})
	}
	return dedupe(eps), nil
}

func (r *Resolver) lookupIP(ctx context.Context, family, host string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, r.lookupTimeout)
	defer cancel()
	addrs, err := r.dns.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, err
	}
	out := addrs[:0]
	for _, a := range addrs {
		// The resolver may hand back IPv4 as ::ffff:a.b.c.d; one spelling
		// per address keeps de-duplication and the pool's Addr key exact.
		a = a.Unmap()
		if a.IsValid() && familyAllows(family, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (r *Resolver) resolveSRV(ctx context.Context, s Spec) ([]endpoint, error) {
	lctx, cancel := context.WithTimeout(ctx, r.lookupTimeout)
	_, recs, err := r.dns.LookupSRV(lctx, "", "", s.Host)
	cancel()
	// LookupSRV returns the well-formed records alongside an error when
	// some were malformed; those are still worth using.
	if err != nil && len(recs) == 0 {
		return nil, err
	}
	groups := srvGroups(recs)
	for _, g := range groups {
		eps, err := r.resolveSRVGroup(ctx, s, g)
		if err != nil {
			return nil, err
		}
		if len(eps) > 0 {
			return eps, nil
		}
	}
	return nil, fmt.Errorf("no SRV target of %s has an address", s.Host)
}

// srvGroups groups records by priority, lowest value (most preferred)
// first, dropping "." targets (RFC 2782: service not available there) and
// port 0.
func srvGroups(recs []*net.SRV) [][]*net.SRV {
	recs = slices.DeleteFunc(slices.Clone(recs), func(s *net.SRV) bool {
		return s == nil || s.Target == "." || s.Target == "" || s.Port == 0
	})
	slices.SortStableFunc(recs, func(a, b *net.SRV) int { return int(a.Priority) - int(b.Priority) })
	var groups [][]*net.SRV
	for i := 0; i < len(recs); {
		j := i + 1
		for j < len(recs) && recs[j].Priority == recs[i].Priority {
			j++
		}
		groups = append(groups, recs[i:j])
		i = j
	}
	return groups
}

// resolveSRVGroup resolves the targets of one priority group. A target
// with no address is skipped; any other error fails the group, so that a
// transient error keeps the last good list rather than shrinking it.
func (r *Resolver) resolveSRVGroup(ctx context.Context, s Spec, group []*net.SRV) ([]endpoint, error) {
	var eps []endpoint
	for _, rec := range group {
		addrs, err := r.lookupIP(ctx, s.family(), rec.Target)
		if err != nil {
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				continue
			}
			return nil, fmt.Errorf("SRV target %s: %w", rec.Target, err)
		}
		w := int(rec.Weight)
		if w == 0 {
			// RFC 2782 weight 0 means "rarely", not "never"; the pool's
			// 0 means never, so give it the smallest real share.
			w = 1
		}
		for _, a := range addrs {
			eps = append(eps, endpoint{scheme: s.Scheme, addr: netip.AddrPortFrom(a, rec.Port), weight: w})
		}
	}
	return dedupe(eps), nil
}
