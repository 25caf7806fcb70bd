package ipfilter

import (
	"net/netip"
	"slices"
)

// ranges is a set of addresses as sorted, disjoint, non-adjacent
// [lo, hi] intervals per family. Prefixes overlap and nest freely in
// configs; merging them into intervals makes a lookup one binary search,
// O(log n) without allocation however many prefixes there are.
type ranges struct {
	v4 []span4
	v6 []span6
}

type span4 struct{ lo, hi uint32 }

// u128 is a 128-bit address as two halves, compared hi first.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// inc returns a+1 and whether it overflowed.
func (a u128) inc() (u128, bool) {
	a.lo++
	if a.lo == 0 {
		a.hi++
		return a, a.hi == 0
	}
	return a, false
}

type span6 struct{ lo, hi u128 }

func from16(ip netip.Addr) u128 {
	b := ip.As16()
	var a u128
	for i := 0; i < 8; i++ {
		a.hi = a.hi<<8 | uint64(b[i])
		a.lo = a.lo<<8 | uint64(b[i+8])
	}
	return a
}

func from4(ip netip.Addr) uint32 {
	b := ip.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// ones returns a uint64 with its n (0..64) low bits set.
func ones(n int) uint64 {
	if n <= 0 {
		return 0
	}
	return ^uint64(0) >> (64 - n)
}

// builder collects prefixes before they are merged into ranges.
type builder struct {
	v4 []span4
	v6 []span6
}

func (b *builder) add(p netip.Prefix) {
	p = p.Masked()
	addr, bits := p.Addr(), p.Bits()
	if addr.Is4In6() && bits >= 96 {
		// Addresses are unmapped before lookup, so the mapped prefix
		// must be stored as the IPv4 prefix it covers.
		addr, bits = addr.Unmap(), bits-96
	}
	// Other IPv6 prefixes, even ::/0, cover only IPv6 clients, as in
	// nginx: "deny ::/0" must not shut out IPv4.
	if addr.Is4() {
		lo := from4(addr)
		b.v4 = append(b.v4, span4{lo, lo | uint32(ones(32-bits))})
		return
	}
	lo := from16(addr)
	host := 128 - bits
	hi := u128{lo.hi | ones(host-64), lo.lo | ones(min(host, 64))}
	b.v6 = append(b.v6, span6{lo, hi})
}

func (b *builder) build() ranges {
	return ranges{v4: merge4(b.v4), v6: merge6(b.v6)}
}

func merge4(s []span4) []span4 {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span4) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		// Overlapping or adjacent: extend. last.hi+1 overflows only when
		// last already reaches the top, which then covers x.
		if last.hi == ^uint32(0) || x.lo <= last.hi+1 {
			last.hi = max(last.hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

func merge6(s []span6) []span6 {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span6) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		next, overflow := last.hi.inc()
		if overflow || !next.less(x.lo) {
			if last.hi.less(x.hi) {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

// contains reports whether ip (already unmapped) is in the set.
func (r *ranges) contains(ip netip.Addr) bool {
	if ip.Is4() {
		s, x := r.v4, from4(ip)
		// Find the last span starting at or before x.
		lo, hi := 0, len(s)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s[m].lo <= x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x <= s[lo-1].hi
	}
	s, x := r.v6, from16(ip)
	lo, hi := 0, len(s)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !x.less(s[m].lo) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && !s[lo-1].hi.less(x)
}
