package credential

import (
	"net/http"
	"net/url"
	"strings"
)

// QueryName is a raw query pair's name as compared with a configured
// parameter name: unescaped, or as sent when it does not unescape.
func QueryName(k string) string {
	if strings.ContainsAny(k, "%+") {
		if u, err := url.QueryUnescape(k); err == nil {
			return u
		}
	}
	return k
}

// RemoveQuery drops every pair of raw whose name (see QueryName) is
// name, malformed ones included, and keeps the other pairs byte for
// byte and in order, so the upstream sees the query it was sent minus
// the credential.
func RemoveQuery(raw, name string) string {
	var b strings.Builder
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if k, _, _ := strings.Cut(pair, "="); QueryName(k) == name {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return b.String()
}

// RemoveCookie drops every cookie called name from h's Cookie field
// lines, keeping the other cookies as sent; a line left empty is
// removed, and the Cookie field with it when none is left.
func RemoveCookie(h http.Header, name string) {
	lines := h["Cookie"]
	kept := lines[:0]
	for _, line := range lines {
		var b strings.Builder
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			// Trimmed around the name as net/http's cookie parser does.
			if n, _, _ := strings.Cut(part, "="); strings.TrimSpace(n) == name {
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
