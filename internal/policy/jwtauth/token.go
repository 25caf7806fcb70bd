package jwtauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

// source records where a token was found, so exactly those places are
// cleared once it is accepted.
type source uint8

const (
	fromHeader source = 1 << iota
	fromQuery
	fromCookie
)

// errMultipleTokens and errEmptyToken are extraction refusals.
type extractError string

func (e extractError) Error() string { return string(e) }

const (
	errMultipleTokens extractError = "several different tokens in the request"
	errEmptyToken     extractError = "empty bearer token"
)

// extract finds the token in the configured header, query parameter and
// cookie. found is false when none carries one. Distinct tokens in
// several places are refused (RFC 6750 §2: a client uses one method),
// so which one gets checked is never ambiguous.
func (a *Authenticator) extract(r *http.Request) (tok string, src source, found bool, err error) {
	take := func(t string, s source) {
		switch {
		case !found:
			tok, src, found = t, s, true
		case t == tok:
			src |= s
		default:
			err = errMultipleTokens
		}
	}
	for _, v := range r.Header[a.header] {
		if t, ok := a.fromHeaderValue(v); ok {
			take(t, fromHeader)
		}
	}
	if a.query != "" && r.URL != nil && r.URL.RawQuery != "" {
		for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if credential.QueryName(k) != a.query {
				continue
			}
			t, uerr := url.QueryUnescape(v)
			if uerr != nil {
				t = v // checked as it is, and refused as malformed
			}
			take(t, fromQuery)
		}
	}
	if a.cookie != "" {
		for _, c := range r.CookiesNamed(a.cookie) {
			take(c.Value, fromCookie)
		}
	}
	if err == nil && found && tok == "" {
		err = errEmptyToken
	}
	return tok, src, found, err
}

// fromHeaderValue reads one header value. On Authorization only the
// Bearer scheme counts (Basic is another method's); a custom header may
// carry the token with or without the "Bearer " prefix.
func (a *Authenticator) fromHeaderValue(v string) (string, bool) {
	if t, ok := credential.AuthScheme(v, "Bearer"); ok {
		return t, true
	}
	if a.bearerOnly {
		return "", false
	}
	return strings.TrimSpace(v), true
}

// strip removes the accepted token from where it was found, so the
// upstream never sees a credential it was not meant to receive.
func (a *Authenticator) strip(r *http.Request, src source) {
	if src&fromHeader != 0 {
		delete(r.Header, a.header)
	}
	if src&fromQuery != 0 && r.URL != nil {
		r.URL.RawQuery = credential.RemoveQuery(r.URL.RawQuery, a.query)
	}
	if src&fromCookie != 0 {
		credential.RemoveCookie(r.Header, a.cookie)
	}
}
