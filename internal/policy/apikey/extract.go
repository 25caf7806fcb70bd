package apikey

import (
	"github.com/gatehouse/gatehouse/internal/query"
	"net/http"
	"net/url"
	"strings"
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
		r.URL.RawQuery = removeQuery(r.URL.RawQuery, a.query)
		// r.URL.RawQuery is what the proxy sends; r.RequestURI is the
		// line as received and is left alone.
	case fromCookie:
		removeCookie(r.Header, a.cookie)
	}
}

// removeQuery drops every pair whose unescaped name is name, including
// malformed ones, and keeps the other pairs byte for byte, in order.
func removeQuery(raw, name string) string {
	var b strings.Builder
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(pair, "=")
		// Compare unescaped, as the extractor does; a name that fails to
		// unescape is compared as sent.
		if uk, err := url.QueryUnescape(k); err == nil && uk == name || err != nil && k == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// removeCookie drops every cookie called name from the Cookie field
// lines, keeping the others as sent; a line left empty is removed.
func removeCookie(h http.Header, name string) {
	lines := h["Cookie"]
	kept := lines[:0]
	for _, line := range lines {
		var b strings.Builder
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			n, _, _ := strings.Cut(part, "=")
			if strings.TrimSpace(n) == name {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(part)
		}
		if b.Len() > 0 {
			kept = append(kept, b.String())
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}
