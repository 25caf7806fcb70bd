package ipfilter

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// ranges is a set of addresses as sorted, disjoint, non-adjacent
// [lo, hi] intervals per family. Prefixes overlap and nest freely in
// configs; merging them into intervals makes a lookup one binary search,
// O(log n) without allocation however many prefixes there are.
type ranges struct {
	v4, v6 []span128
}

// span is an inclusive address interval within one family, without zones.
type span struct{ lo, hi netip.Addr }

// span128 is a span as plain integers (the 16-byte form, IPv4 mapped),
// which compare several times faster than netip.Addr on the lookup path.
type span128 struct{ lo, hi u128 }

type u128 struct{ hi, lo uint64 }

func from16(ip netip.Addr) u128 {
	b := ip.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// builder collects prefixes before they are merged into ranges.
type builder struct {
	v4, v6 []span
}

func (b *builder) add(p netip.Prefix) {
	p = p.Masked()
	addr, bits := p.Addr(), p.Bits()
	if addr.Is4In6() && bits >= 96 {
		// Addresses are unmapped before lookup, so the mapped prefix
		// must be stored as the IPv4 prefix it covers.
		addr, bits = addr.Unmap(), bits-96
	}
	s := span{addr, lastAddr(addr, bits)}
	// Other IPv6 prefixes, even ::/0, cover only IPv6 clients, as in
	// nginx: "deny ::/0" must not shut out IPv4.
	if addr.Is4() {
		b.v4 = append(b.v4, s)
	} else {
		b.v6 = append(b.v6, s)
	}
}

// lastAddr returns the highest address of the prefix addr/bits (addr
// already masked).
func lastAddr(addr netip.Addr, bits int) netip.Addr {
	a := addr.AsSlice()
	for i := bits; i < len(a)*8; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	last, _ := netip.AddrFromSlice(a)
	return last
}

func (b *builder) build() ranges {
	return ranges{v4: merge(b.v4), v6: merge(b.v6)}
}

// merge sorts the spans of one family, merges overlapping or adjacent
// ones and returns them in lookup form.
func merge(s []span) []span128 {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span) int { return a.lo.Compare(b.lo) })
	out := s[:1]
	for _, x := range s[1:] {
		last := &out[len(out)-1]
		// Next is invalid only past the family's top address, which
		// then covers x.
		if next := last.hi.Next(); !next.IsValid() || x.lo.Compare(next) <= 0 {
			if last.hi.Less(x.hi) {
				last.hi = x.hi
			}
			continue
		}
		out = append(out, x)
	}
	r := make([]span128, len(out))
	for i, x := range out {
		r[i] = span128{from16(x.lo), from16(x.hi)}
	}
	return r
}

// contains reports whether ip (already unmapped) is in the set.
func (r *ranges) contains(ip netip.Addr) bool {
	s := r.v6
	if ip.Is4() {
		s = r.v4
	}
	x := from16(ip) // the zone, if any, is ignored
	// Find the last span starting at or before x.
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
