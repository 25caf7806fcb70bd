package apikey

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/policy/credential"
	"github.com/gatehouse/gatehouse/internal/query"
)

// source is where a request's key was found.
type source int

const (
	fromNone source = iota
	fromHeader
	fromQuery
	fromCookie
)

// extract returns the key from the first configured place that has a
// non-empty one, in the order header, query, cookie.
func (a *Authenticator) extract(r *http.Request) (string, source) {
	if a.header != "" {
		// The first field line, as Header.Get; a second one is ignored.
		if v := r.Header[a.header]; len(v) > 0 && v[0] != "" {
			return v[0], fromHeader
		}
	}
	if a.query != "" && r.URL != nil {
		if v, ok := query.Value(r.URL.RawQuery, a.query); ok && v != "" {
			return v, fromQuery
		}
	}
	if a.cookie != "" {
		if c, err := r.Cookie(a.cookie); err == nil && c.Value != "" {
			return c.Value, fromCookie
		}
	}
	return "", fromNone
}

// remove takes the key out of the request so it does not reach the
// upstream. Every copy goes: all field lines, all query pairs and all
// cookies of that name.
func (a *Authenticator) remove(r *http.Request, from source) {
	switch from {
	case fromHeader:
		delete(r.Header, a.header)
	case fromQuery:
		r.URL.RawQuery = credential.RemoveQuery(r.URL.RawQuery, a.query)
		// r.URL.RawQuery is what the proxy sends; r.RequestURI is the
		// line as received and is left alone.
	case fromCookie:
		credential.RemoveCookie(r.Header, a.cookie)
	}
}
