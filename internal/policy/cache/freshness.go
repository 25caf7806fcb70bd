package cache

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// freshness is what a response's headers say about storing it.
type freshness struct {
	lifetime, swr, sie, age0 time.Duration
	noCache, noStale         bool
}

// storable decides whether a response may be stored and for how long.
// The reasons it may not, in order: a status not configured as cacheable,
// Cache-Control no-store or private, Set-Cookie (a per-client response
// without a private marker is common enough to make this the safe
// default), Vary: *, announced trailers (not captured), and no freshness
// lifetime at all (no max-age, s-maxage, Expires or configured TTL), unless
// no-cache asks us to store it and revalidate on every use.
func (c *Cache) storable(status int, h http.Header, now time.Time) (freshness, bool) {
	var f freshness
	if !c.statuses[status] {
		return f, false
	}
	d := parseCacheControl(h["Cache-Control"])
	if d.noStore || d.private || len(h["Set-Cookie"]) > 0 || len(h["Trailer"]) > 0 {
		return f, false
	}
	if hasToken(h["Vary"], "*") {
		return f, false
	}
	f.age0 = parseAge(h.Get("Age"))
	if c.cfg.OverrideTTL {
		// The operator's TTL wins over everything but no-store/private.
		f.lifetime = c.cfg.TTL
		f.swr, f.sie = c.cfg.StaleWhileRevalidate, c.cfg.StaleIfError
		return f, true
	}
	switch {
	case d.sMaxAge >= 0:
		f.lifetime = time.Duration(d.sMaxAge) * time.Second
	case d.maxAge >= 0:
		f.lifetime = time.Duration(d.maxAge) * time.Second
	case h.Get("Expires") != "":
		f.lifetime = expiresLifetime(h, now)
		if f.lifetime <= 0 {
			f.lifetime = 0
		}
	default:
		f.lifetime = c.cfg.TTL
	}
	f.noCache = d.noCache
	if f.noCache {
		// Stored for revalidation only: keep it as long as the lifetime
		// (or TTL) says, but never treat it as fresh.
		if f.lifetime <= 0 {
			f.lifetime = c.cfg.TTL
		}
		if f.lifetime <= 0 {
			return f, false // nothing says how long to keep it
		}
		f.noStale = true
		return f, true
	}
	if f.lifetime-f.age0 <= 0 {
		return f, false // already stale; not worth a store round trip
	}
	// must-revalidate and proxy-revalidate forbid stale responses outright.
	// s-maxage implies proxy-revalidate (RFC 9111 §5.2.2.10), so the
	// configured stale windows do not apply to it; the response's own
	// stale-* directives are explicit permission and still do.
	f.noStale = d.mustRevalidate || d.proxyRevalidate
	if !f.noStale {
		if d.sMaxAge < 0 {
			f.swr, f.sie = c.cfg.StaleWhileRevalidate, c.cfg.StaleIfError
		}
		if d.staleWhileRevalidate >= 0 {
			f.swr = time.Duration(d.staleWhileRevalidate) * time.Second
		}
		if d.staleIfError >= 0 {
			f.sie = time.Duration(d.staleIfError) * time.Second
		}
	}
	return f, true
}

// expiresLifetime is Expires minus Date (or now when Date is absent or
// invalid). An invalid Expires ("0") means already expired.
func expiresLifetime(h http.Header, now time.Time) time.Duration {
	exp, err := http.ParseTime(h.Get("Expires"))
	if err != nil {
		return 0
	}
	date := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		date = d
	}
	return exp.Sub(date)
}

// parseAge reads an Age header (delta-seconds); invalid reads as 0.
func parseAge(s string) time.Duration {
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(textproto.TrimString(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, maxDelta)) * time.Second
}

// appendTokens appends the comma-separated tokens of values, as canonical
// header names, skipping empties and duplicates.
func appendTokens(dst []string, values []string) []string {
	for _, v := range values {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			tok = textproto.TrimString(tok)
			if tok == "" {
				continue
			}
			if tok != "*" {
				tok = http.CanonicalHeaderKey(tok)
			}
			dup := false
			for _, d := range dst {
				if d == tok {
					dup = true
					break
				}
			}
			if !dup {
				dst = append(dst, tok)
			}
		}
	}
	return dst
}
