package jwtauth

import (
	"net/http"
	"net/url"
	"strings"
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
	for _, v := range r.Header.Values(a.header) {
		if t, ok := a.fromHeaderValue(v); ok {
			take(t, fromHeader)
		}
	}
	if a.query != "" && r.URL != nil && r.URL.RawQuery != "" {
		for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if queryKey(k) != a.query {
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
	const scheme = "Bearer"
	if len(v) >= len(scheme) && strings.EqualFold(v[:len(scheme)], scheme) &&
		(len(v) == len(scheme) || v[len(scheme)] == ' ' || v[len(scheme)] == '\t') {
		return strings.TrimSpace(v[len(scheme):]), true
	}
	if a.bearerOnly {
		return "", false
	}
	return strings.TrimSpace(v), true
}

func queryKey(k string) string {
	if strings.ContainsAny(k, "%+") {
		if u, err := url.QueryUnescape(k); err == nil {
			return u
		}
	}
	return k
}

// strip removes the accepted token from where it was found, so the
// upstream never sees a credential it was not meant to receive.
func (a *Authenticator) strip(r *http.Request, src source) {
	if src&fromHeader != 0 {
		r.Header.Del(a.header)
	}
	if src&fromQuery != 0 && r.URL != nil {
		var b strings.Builder
		for pair := range strings.SplitSeq(r.URL.RawQuery, "&") {
			k, _, _ := strings.Cut(pair, "=")
			if queryKey(k) == a.query {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(pair)
		}
		r.URL.RawQuery = b.String()
	}
	if src&fromCookie != 0 {
		var kept []string
		for _, line := range r.Header.Values("Cookie") {
			var b strings.Builder
			for part := range strings.SplitSeq(line, ";") {
				name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
				if name == a.cookie || strings.TrimSpace(part) == "" {
					continue
				}
				if b.Len() > 0 {
					b.WriteString("; ")
				}
				b.WriteString(strings.TrimSpace(part))
			}
			if b.Len() > 0 {
				kept = append(kept, b.String())
			}
		}
		r.Header.Del("Cookie")
		for _, c := range kept {
			r.Header.Add("Cookie", c)
		}
	}
}
