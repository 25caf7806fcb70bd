package cache

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/respwriter"
	"github.com/gatehouse/gatehouse/internal/router"
)

// invalidateAfter runs an unsafe request and, when it succeeds, deletes
// the stored GET response for its URL and for the URLs in the response's
// Location and Content-Location when they are of the same origin (RFC
// 9111 §4.4): a PUT or DELETE must not leave the old representation
// served from cache. Only this request's own variant of KeyHeaders and
// consumer is known and removed.
func (c *Cache) invalidateAfter(next http.Handler, w http.ResponseWriter, r *http.Request) {
	var stack [256]byte
	info := reqinfo.FromContext(r.Context())
	key := c.appendKey(stack[:0], r, info, http.MethodGet) // a string only when needed
	sw := &respwriter.Writer{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	if sw.Status < 200 || sw.Status >= 400 {
		return
	}
	c.deleteVariants(string(key))
	h := w.Header()
	for _, name := range [...]string{"Location", "Content-Location"} {
		if len(h[name]) != 1 {
			continue
		}
		if path, query, ok := sameOriginTarget(r, h[name][0]); ok {
			c.deleteVariants(string(c.appendKeyFor(stack[:0], path, query, r, info, http.MethodGet)))
		}
	}
}

// sameOriginTarget resolves a Location or Content-Location value against
// r and returns its normalised path and query when it names r's origin
// (RFC 9111 §4.4 forbids invalidating other origins' URLs: that would let
// one origin purge another's entries).
func sameOriginTarget(r *http.Request, ref string) (path, query string, ok bool) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", "", false
	}
	if u.Scheme != "" || u.Host != "" {
		if !strings.EqualFold(u.Hostname(), hostOnly(r.Host)) || (u.Port() != "" && u.Port() != portOnly(r.Host)) {
			return "", "", false
		}
	}
	base := &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath}
	t := base.ResolveReference(&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery})
	p := t.EscapedPath()
	if p == "" {
		p = "/"
	}
	norm, err := router.Normalize(p)
	if err != nil {
		return "", "", false
	}
	return norm, t.RawQuery, true
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func portOnly(hostport string) string {
	if _, p, err := net.SplitHostPort(hostport); err == nil {
		return p
	}
	return ""
}
