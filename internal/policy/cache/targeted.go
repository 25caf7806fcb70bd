package cache

import (
	"net/http"
	"slices"
	"strings"
)

// Targeted cache control (RFC 9213).
//
// A response may carry cache directives meant for one class of caches
// in a field of their own. Gatehouse's target list is, in order:
// Config.CacheControlField (a name of the operator's choosing, e.g.
// "Gatehouse-Cache-Control", aimed at this gateway alone) and
// CDN-Cache-Control (RFC 9213 §3: every CDN-like cache). The first of
// them present with a non-empty value is the response's caching policy,
// and Cache-Control and Expires are then ignored (RFC 9213 §2.2).
//
// Forwarding: the operator's own field targets this cache only, so it is
// removed from the response before it is stored or sent on (no client or
// later cache should act on it). CDN-Cache-Control is left in place: it
// targets every CDN-like cache, and one may sit between Gatehouse and
// the client; RFC 9213 does not ask a cache to remove it.

// cdnCacheControl is "CDN-Cache-Control" in canonical form.
const cdnCacheControl = "Cdn-Cache-Control"

// responseDirectives returns the directives that govern h and whether
// they came from a targeted field.
func (c *Cache) responseDirectives(h http.Header) (directives, bool) {
	for _, name := range c.targets {
		if vs := h[name]; len(vs) > 0 && nonEmpty(vs) {
			return parseCacheControl(dropParams(vs)), true
		}
	}
	return parseCacheControl(h["Cache-Control"]), false
}

func nonEmpty(vs []string) bool {
	for _, v := range vs {
		for i := 0; i < len(v); i++ {
			if v[i] != ' ' && v[i] != '\t' && v[i] != ',' {
				return true
			}
		}
	}
	return false
}

// dropParams removes the parameters of a targeted field's members: the
// field is a Structured Field Dictionary (RFC 9213 §2.1, RFC 8941), in
// which "max-age=60;foo" is max-age=60 with a parameter foo that no
// directive defines, so it is ignored.
func dropParams(vs []string) []string {
	out := vs
	for i, v := range vs {
		if strings.IndexByte(v, ';') < 0 {
			continue
		}
		if &out[0] == &vs[0] {
			out = slices.Clone(vs)
		}
		var b strings.Builder
		for m := range strings.SplitSeq(v, ",") {
			m, _, _ = strings.Cut(m, ";")
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(m)
		}
		out[i] = b.String()
	}
	return out
}
