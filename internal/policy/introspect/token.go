package introspect

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/credential"
	"github.com/gatehouse/gatehouse/internal/query"
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
		if tok, ok := credential.AuthScheme(v, "Bearer"); ok {
			return tok, fromHeader, nil
		}
		if a.header != "Authorization" {
			return v, fromHeader, nil
		}
		// Another scheme in Authorization is another method's credential;
		// the token may still be in the query or a cookie.
	}
	if a.query != "" && r.URL != nil {
		if v, _ := query.Value(r.URL.RawQuery, a.query); v != "" {
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
		delete(r.Header, a.header)
	case fromQuery:
		r.URL.RawQuery = credential.RemoveQuery(r.URL.RawQuery, a.query)
	case fromCookie:
		credential.RemoveCookie(r.Header, a.cookie)
	}
}
