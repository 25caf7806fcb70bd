package cache

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// freshness is what a response's headers say about storing it.
type freshness struct {
	lifetime, swr, sie, age0 time.Duration
	noCache, noStale         bool
	// authOK: public, s-maxage or must-revalidate, the marks that let a
	// shared cache reuse a response to a request with Authorization
	// (RFC 9111 §3.5).
	authOK bool
	// withheld are fields not to store (qualified no-cache / private).
	withheld []string
}

// storable decides whether a response may be stored and for how long.
// The reasons it may not, in order: a status that is not cacheable (not
// configured, or, with Config.ExplicitStatuses, not a final status with
// explicit freshness), Cache-Control no-store or private, Set-Cookie (a
// per-client response without a private marker is common enough to make
// this the safe default), Vary: *, announced trailers (not captured), and
// no freshness lifetime at all (no max-age, s-maxage, Expires, configured
// TTL or, opt-in, heuristic), unless no-cache asks us to store it and
// revalidate on every use.
//
// The directives come from the first targeted field present (RFC 9213
// §2.2: Config.CacheControlField, then CDN-Cache-Control); when one is,
// Cache-Control and Expires are ignored.
func (c *Cache) storable(status int, h http.Header, now time.Time) (freshness, bool) {
	var f freshness
	listed := c.statuses[status]
	if !listed && !(c.cfg.ExplicitStatuses && finalStatus(status)) {
		return f, false
	}
	d, targeted := c.responseDirectives(h)
	if d.mustUnderstand {
		// RFC 9111 §5.2.2.3: store only a status we understand, and then
		// no-store (sent for caches without must-understand) is ignored.
		if !understoodStatus(status) {
			return f, false
		}
		d.noStore = false
	}
	if d.noStore || d.private || len(h["Set-Cookie"]) > 0 || len(h["Trailer"]) > 0 {
		return f, false
	}
	if hasToken(h["Vary"], "*") {
		return f, false
	}
	f.authOK = d.public || d.sMaxAge >= 0 || d.mustRevalidate
	f.withheld = d.withheld
	f.age0 = parseAge(h["Age"])
	if c.cfg.OverrideTTL {
		// The operator's TTL wins over everything but no-store/private.
		f.lifetime = c.cfg.TTL
		f.swr, f.sie = c.cfg.StaleWhileRevalidate, c.cfg.StaleIfError
		return f, true
	}
	explicit := true
	switch {
	case d.sMaxAge >= 0:
		f.lifetime = time.Duration(d.sMaxAge) * time.Second
	case d.maxAge >= 0:
		f.lifetime = time.Duration(d.maxAge) * time.Second
	case !targeted && len(h["Expires"]) > 0:
		f.lifetime = max(expiresLifetime(h, now), 0)
	default:
		explicit = false
		f.lifetime = c.cfg.TTL
		if f.lifetime == 0 && heuristicStatus(status) {
			f.lifetime = c.heuristicLifetime(h, now)
		}
	}
	if !listed && !explicit {
		return f, false // ExplicitStatuses: only with explicit freshness
	}
	// RFC 9111 §1.2.2: 2^31 seconds is "infinity" (an Expires centuries
	// ahead must not overflow the stored durations).
	f.lifetime = min(f.lifetime, time.Duration(maxDelta)*time.Second)
	f.noCache = d.noCache
	if f.noCache {
		// Stored for revalidation only: keep it as long as the lifetime
		// (or TTL) says, but never treat it as fresh.
		if f.lifetime <= 0 {
			f.lifetime = c.cfg.TTL
		}
		if f.lifetime <= 0 && !hasValidatorHeader(h) {
			return f, false // nothing says how long to keep it, and no way to revalidate
		}
		f.noStale = true
		return f, true
	}
	if f.lifetime-f.age0 <= 0 && !(explicit && hasValidatorHeader(h)) {
		// Already stale: stored only when the origin gave it explicit
		// caching information (max-age=0, a past Expires) and a validator,
		// so the next request revalidates it with a conditional request.
		// A response without any caching information stays uncached.
		return f, false
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

func hasValidatorHeader(h http.Header) bool {
	return len(h["Etag"]) > 0 || len(h["Last-Modified"]) > 0
}

// finalStatus reports the statuses Config.ExplicitStatuses may store:
// final (RFC 9111 §3), not 206 (ranges are not stored) or 304.
func finalStatus(s int) bool {
	return s >= 200 && s <= 599 && s != http.StatusPartialContent && s != http.StatusNotModified
}

// understoodStatus reports the final statuses whose semantics the cache
// knows (registered ones, as far as net/http knows them), for
// must-understand.
func understoodStatus(s int) bool {
	return finalStatus(s) && http.StatusText(s) != ""
}

// heuristicStatus reports the statuses defined as heuristically cacheable
// (RFC 9110 §15.1), less 206 (ranges are not stored).
func heuristicStatus(s int) bool {
	switch s {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// heuristicLifetime is RFC 9111 §4.2.2's heuristic: a fraction
// (Config.HeuristicPercent) of the time since Last-Modified, capped at
// Config.HeuristicMax. 0 when disabled or without a valid Last-Modified.
func (c *Cache) heuristicLifetime(h http.Header, now time.Time) time.Duration {
	if c.cfg.HeuristicPercent <= 0 {
		return 0
	}
	lm, ok := parseHTTPDate(h["Last-Modified"])
	if !ok {
		return 0
	}
	date := responseDate(h, now)
	since := date.Sub(lm)
	if since <= 0 {
		return 0
	}
	return min(since/100*time.Duration(c.cfg.HeuristicPercent), c.heuristicMax)
}

// expiresLifetime is Expires minus Date (or now when Date is absent or
// invalid). An invalid Expires ("0", a malformed date, several field
// lines) means already expired (RFC 9111 §5.3).
func expiresLifetime(h http.Header, now time.Time) time.Duration {
	exp, ok := parseHTTPDate(h["Expires"])
	if !ok {
		return 0
	}
	date := responseDate(h, now)
	return exp.Sub(date)
}

// parseAge reads an Age field (delta-seconds). A list (one line "7200, 0"
// or several lines) counts by its first member, as RFC 9111 §5.1 says. A
// first member that is not a non-negative integer makes the response's
// age unknown: it reads as maxDelta, so the response is stale and is
// revalidated rather than served. RFC 9111 §5.1 says a cache SHOULD
// ignore such a field; not knowing how long an upstream cache held the
// response, we take the conservative reading (what the HTTP caching
// test suite's required tests ask for), which costs at most one
// conditional request.
func parseAge(values []string) time.Duration {
	if len(values) == 0 {
		return 0
	}
	first, _, _ := strings.Cut(values[0], ",")
	first = textproto.TrimString(first)
	if first == "" {
		return time.Duration(maxDelta) * time.Second
	}
	var n int64
	for i := 0; i < len(first); i++ {
		ch := first[i]
		if ch < '0' || ch > '9' {
			return time.Duration(maxDelta) * time.Second
		}
		if n < maxDelta {
			n = n*10 + int64(ch-'0')
		}
	}
	return time.Duration(min(n, maxDelta)) * time.Second
}

// responseDate is the response's Date, or now when it has none or an
// invalid one (RFC 9110 §6.6.1: a recipient with a clock may add it).
func responseDate(h http.Header, now time.Time) time.Time {
	if d, ok := parseHTTPDate(h["Date"]); ok {
		return d
	}
	return now
}

// appendTokens appends the comma-separated tokens of values, as canonical
// header names, skipping empties and duplicates.
func appendTokens(dst []string, values []string) []string {
	h1wire.EachToken(values, func(tok string) {
		if tok != "*" {
			tok = http.CanonicalHeaderKey(tok)
		}
		if !slices.Contains(dst, tok) {
			dst = append(dst, tok)
		}
	})
	return dst
}
