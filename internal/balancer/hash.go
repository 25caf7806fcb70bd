package balancer

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// hashMaxWalk bounds how many table slots Pick walks past an unavailable or
// skipped key owner before it falls back to a scan. Slots are spread over
// targets by weight, so the walk ends within a few slots unless most of the
// weight is out; the bound keeps the worst case (everything down) cheap.
const hashMaxWalk = 64

type hashSource uint8

const (
	fromClientIP hashSource = iota
	fromHeader
	fromCookie
	fromQuery
	fromSNI
)

// Hash sends requests with the same key (client IP, header, cookie or query
// parameter, per Options) to the same target, through a Maglev table so that
// adding or removing a target moves only about its share of the keys, and
// so that weights set each target's share of the key space.
//
// When a key's target is unavailable or is the skipped one, Pick walks the
// table forward to the next slot owned by another target, so every request
// with that key lands on the same fallback target, and keys of healthy
// targets do not move at all. Requests without a key go to the
// Options.HashFallback algorithm.
type Hash struct {
	targets  []*Target
	table    []uint16
	source   hashSource
	name     string // header (canonical), cookie or query parameter name
	fallback Balancer
}

// NewHash returns a consistent-hash balancer over targets keyed as o says.
// It fails on incomplete options, an unknown fallback, or more than 65535
// targets.
func NewHash(targets []*Target, o Options) (*Hash, error) {
	b := &Hash{targets: targets, name: o.HashKey}
	switch o.HashOn {
	case "", HashOnClientIP:
		b.source = fromClientIP
	case HashOnHeader:
		b.source = fromHeader
		// Canonical once here so Pick can index r.Header directly.
		b.name = http.CanonicalHeaderKey(o.HashKey)
	case HashOnCookie:
		b.source = fromCookie
	case HashOnQuery:
		b.source = fromQuery
	case HashOnSNI:
		b.source = fromSNI
	default:
		return nil, fmt.Errorf("hash: hash_on %q is not one of %s, %s, %s, %s, %s",
			o.HashOn, HashOnClientIP, HashOnSNI, HashOnHeader, HashOnCookie, HashOnQuery)
	}
	if b.source != fromClientIP && b.source != fromSNI && o.HashKey == "" {
		return nil, fmt.Errorf("hash: hash_on %q needs hash_key, the %s name to hash", o.HashOn, o.HashOn)
	}
	if len(targets) > maglevMaxTargets {
		return nil, fmt.Errorf("hash: %d targets, at most %d are supported", len(targets), maglevMaxTargets)
	}
	fallback := o.HashFallback
	if fallback == "" {
		fallback = "random"
	}
	if fallback == "hash" {
		return nil, fmt.Errorf("hash: hash_fallback cannot be %q itself; use one of random, round_robin, weighted_round_robin, least_request, p2c_ewma", fallback)
	}
	// The keyless fallback ramps returning targets like any algorithm;
	// keyed requests do not (see slowstart.go).
	fb, err := NewWithOptions(fallback, targets, Options{SlowStart: o.SlowStart, SlowStartAggression: o.SlowStartAggression})
	if err != nil {
		return nil, fmt.Errorf("hash: hash_fallback: %w", err)
	}
	b.fallback = fb
	b.table = buildMaglev(targets)
	return b, nil
}

// Pick implements Balancer.
func (b *Hash) Pick(r *http.Request, skip *Target) *Target {
	if len(b.table) == 0 {
		return nil
	}
	h, ok := b.key(r)
	if !ok {
		return b.fallback.Pick(r, skip)
	}
	return b.lookup(h, skip)
}

// lookup returns the target for key hash h: the owner of slot h mod m, or
// the owner of the next slot on that is available and not skip. Past
// hashMaxWalk slots it scans the targets from h mod n, which is just as
// deterministic per key.
func (b *Hash) lookup(h uint64, skip *Target) *Target {
	m := uint64(len(b.table))
	i := h % m
	prev := uint16(maglevEmpty)
	for range hashMaxWalk {
		// Runs of one owner are common; check each owner once per run.
		if e := b.table[i]; e != prev {
			if t := b.targets[e]; t != skip && t.Available() {
				return t
			}
			prev = e
		}
		if i++; i == m {
			i = 0
		}
	}
	n := uint64(len(b.targets))
	start := h % n
	for k := range n {
		if t := b.targets[(start+k)%n]; t != skip && t.Available() {
			return t
		}
	}
	return nil
}

// key hashes r's key; false when r has none (or it is empty).
func (b *Hash) key(r *http.Request) (uint64, bool) {
	if r == nil {
		return 0, false
	}
	var v string
	switch b.source {
	case fromClientIP:
		return clientIPHash(r)
	case fromHeader:
		if b.name == "Host" {
			// net/http moves Host out of the header map.
			v = r.Host
		} else if vs := r.Header[b.name]; len(vs) > 0 {
			v = vs[0]
		}
	case fromSNI:
		if r.TLS != nil {
			v = r.TLS.ServerName
		}
	case fromCookie:
		v = cookieValue(r.Header, b.name)
	case fromQuery:
		if r.URL == nil {
			return 0, false
		}
		v = queryValue(r.URL.RawQuery, b.name)
		if v != "" {
			return hashQueryValue(v), true
		}
	}
	if v == "" {
		return 0, false
	}
	return xxhash.Sum64String(v), true
}

// clientIPHash hashes the client address the listener resolved (trusting
// X-Forwarded-For only from trusted proxies), else the peer address. Both
// paths hash the 16-byte form, so an address hashes the same either way
// and IPv4 equals its IPv4-mapped IPv6 form.
func clientIPHash(r *http.Request) (uint64, bool) {
	if info := reqinfo.FromContext(r.Context()); info != nil && info.ClientIP.IsValid() {
		return addrHash(info.ClientIP), true
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return addrHash(ap.Addr()), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return addrHash(a), true
	}
	if r.RemoteAddr == "" {
		return 0, false
	}
	// Not an IP (a unix socket path, say): still stable per peer.
	return xxhash.Sum64String(r.RemoteAddr), true
}

func addrHash(a netip.Addr) uint64 {
	b := a.As16() // drops any zone: fe80::1%eth0 is one client
	return xxhash.Sum64(b[:])
}

// cookieValue finds cookie name in the Cookie headers without building the
// []*http.Cookie that r.Cookie would allocate. Like net/http it trims
// spaces and one pair of surrounding quotes; "" when absent.
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(part, "=")
			if !ok || strings.TrimSpace(k) != name {
				continue
			}
			v = strings.TrimSpace(v)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if v != "" {
				return v
			}
		}
	}
	return ""
}

// queryValue returns the first non-empty raw (still escaped) value of
// parameter name in rawQuery, without the maps url.ParseQuery allocates.
func queryValue(rawQuery, name string) string {
	for rawQuery != "" {
		var part string
		part, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(part, "=")
		if v != "" && queryKeyIs(k, name) {
			return v
		}
	}
	return ""
}

// queryKeyIs reports whether the escaped key raw decodes to name, decoding
// on the fly so that matching allocates nothing.
func queryKeyIs(raw, name string) bool {
	if raw == name {
		return true
	}
	if !strings.ContainsAny(raw, "%+") {
		return false
	}
	j := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			d, ok := unhex2(raw, i)
			if !ok {
				return false
			}
			c, i = d, i+2
		}
		if j >= len(name) || name[j] != c {
			return false
		}
		j++
	}
	return j == len(name)
}

// hashQueryValue hashes the decoded value, so that ?k=a+b and ?k=a%20b
// (two spellings of one value) land on the same target. Values
// up to 256 bytes are decoded into a stack buffer; longer ones, or badly
// escaped ones, hash as sent, which is still stable per client.
func hashQueryValue(v string) uint64 {
	if len(v) > 256 || !strings.ContainsAny(v, "%+") {
		return xxhash.Sum64String(v)
	}
	var buf [256]byte
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			d, ok := unhex2(v, i)
			if !ok {
				return xxhash.Sum64String(v)
			}
			c, i = d, i+2
		}
		buf[n] = c
		n++
	}
	return xxhash.Sum64(buf[:n])
}

// unhex2 decodes the two hex digits after the '%' at s[i].
func unhex2(s string, i int) (byte, bool) {
	if i+2 >= len(s) {
		return 0, false
	}
	hi, ok1 := h1wire.Unhex(s[i+1])
	lo, ok2 := h1wire.Unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}
