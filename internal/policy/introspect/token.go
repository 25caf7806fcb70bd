package introspect

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// source says where a token was found, so it can be removed from there.
type source int

const (
	fromHeader source = iota
	fromQuery
	fromCookie
)

// token finds the request's token: in Header, then Query, then Cookie,
// whichever are configured. In the Authorization header the token must
// use the Bearer scheme; another scheme there (Basic) means no
// credentials from this header. In another header an optional "Bearer "
// prefix is removed.
func (a *Authenticator) token(r *http.Request) (string, source, error) {
	if v := r.Header.Get(a.header); v != "" {
		scheme, rest, _ := strings.Cut(v, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			return strings.TrimLeft(rest, " "), fromHeader, nil
		case a.header != "Authorization":
			return v, fromHeader, nil
		}
		// Another scheme in Authorization is another method's credential;
		// the token may still be in the query or a cookie.
	}
	if a.query != "" && r.URL != nil {
		if v := r.URL.Query().Get(a.query); v != "" {
			return v, fromQuery, nil
		}
	}
	if a.cookie != "" {
		if c, err := r.Cookie(a.cookie); err == nil && c.Value != "" {
			return c.Value, fromCookie, nil
		}
	}
	return "", 0, identity.ErrNoCredentials
}

// strip removes the accepted token from where it was found, so the
// upstream does not receive a credential meant for the gateway.
func (a *Authenticator) strip(r *http.Request, src source) {
	switch src {
	case fromHeader:
		r.Header.Del(a.header)
	case fromQuery:
		q := r.URL.Query()
		q.Del(a.query)
		r.URL.RawQuery = q.Encode()
	case fromCookie:
		var kept []string
		for _, c := range r.Cookies() {
			if c.Name != a.cookie {
				kept = append(kept, c.String())
			}
		}
		r.Header.Del("Cookie")
		if len(kept) > 0 {
			r.Header.Set("Cookie", strings.Join(kept, "; "))
		}
	}
}
