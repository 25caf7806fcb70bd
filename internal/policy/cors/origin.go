package cors

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// normalizeOrigin checks a configured origin and puts it in the form
// browsers serialise origins in (RFC 6454 §6.2): lower-case scheme and
// host, no default port, no path. Matching against requests is then an
// exact, case-sensitive comparison.
func normalizeOrigin(o string) (string, error) {
	if o == "null" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil {
		return "", fmt.Errorf("%q is not an origin: %w", o, err)
	}
	if u.Scheme == "" || u.Hostname() == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin: want scheme://host[:port]", o)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%q is not an origin: no path, query, user or fragment allowed", o)
	}
	if u.Path == "/" {
		// Browsers never send the slash; "https://a.example/" is a
		// common typo for the origin itself.
		return "", fmt.Errorf("%q is not an origin: remove the trailing slash", o)
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Host)
	if port := u.Port(); (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		host = strings.TrimSuffix(host, ":"+port)
	}
	if strings.HasSuffix(host, ":") {
		return "", errors.New("empty port in origin " + o)
	}
	return scheme + "://" + host, nil
}

// plausibleOrigin is a cheap check that s looks like a serialised origin
// (scheme "://" then host characters), applied before a pattern-matched
// origin is reflected into a response header.
func plausibleOrigin(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 || i+3 == len(s) {
		return false
	}
	for j := 0; j < len(s); j++ {
		c := s[j]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '+', c == '_', c == '/' && j > i && j <= i+2:
		default:
			return false
		}
	}
	return true
}
