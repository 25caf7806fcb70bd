package filter

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/respwriter"
)

// HeadersConfig is Gateway API's RequestHeaderModifier /
// ResponseHeaderModifier: names are case-insensitive; Remove runs first,
// then Set (replaces), then Add (appends). The zero value edits nothing.
type HeadersConfig struct {
	Set    map[string]string
	Add    map[string]string
	Remove []string
}

// headerEdit is a compiled HeadersConfig, names canonical.
type headerEdit struct {
	set, add [][2]string
	remove   []string
}

func newHeaderEdit(c HeadersConfig) *headerEdit {
	e := &headerEdit{}
	for k, v := range c.Set {
		e.set = append(e.set, [2]string{http.CanonicalHeaderKey(k), v})
	}
	for k, v := range c.Add {
		e.add = append(e.add, [2]string{http.CanonicalHeaderKey(k), v})
	}
	for _, k := range c.Remove {
		e.remove = append(e.remove, http.CanonicalHeaderKey(k))
	}
	return e
}

func (e *headerEdit) apply(h http.Header) {
	for _, k := range e.remove {
		delete(h, k)
	}
	for _, kv := range e.set {
		h[kv[0]] = []string{kv[1]}
	}
	for _, kv := range e.add {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
}

// BeforeFinal edits the final response header (respwriter.Hook).
func (e *headerEdit) BeforeFinal(h http.Header, _ int) { e.apply(h) }

// RequestHeaders edits the request before the next handler sees it.
// "Host" is not a header in net/http's model; setting it changes r.Host.
func RequestHeaders(c HeadersConfig) func(http.Handler) http.Handler {
	e := newHeaderEdit(c)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.apply(r.Header)
			if h, ok := r.Header["Host"]; ok {
				if len(h) > 0 {
					r.Host = h[0]
				}
				delete(r.Header, "Host")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// EditHeaders returns the edit as a function on a header, for edits made
// where there is no request to hand (the proxy's per-target headers).
// Host is left alone there: it is the request's, not a header's.
func EditHeaders(c HeadersConfig) func(http.Header) {
	e := newHeaderEdit(c)
	return func(h http.Header) {
		host, had := h["Host"]
		e.apply(h)
		if had {
			h["Host"] = host
		} else {
			delete(h, "Host")
		}
	}
}

// ResponseHeaders edits the final response header just before it is
// sent; interim (1xx) responses go out as they are.
func ResponseHeaders(c HeadersConfig) func(http.Handler) http.Handler {
	e := newHeaderEdit(c)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := &respwriter.Writer{ResponseWriter: w, Hook: e}
			next.ServeHTTP(rw, r)
			rw.Finish() // a handler that wrote nothing gets the edits too
		})
	}
}
