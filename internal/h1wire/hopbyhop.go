package h1wire

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// hopHeaders are meaningful for one connection only (RFC 9110 §7.6.1) and
// are never forwarded, in either direction. Proxy-Connection is not
// standard but libcurl still sends it. Keys are canonical so they can be
// deleted without canonicalising on every request.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// IsHopByHop reports whether the canonical header name is one of the
// headers that describe a connection, not a message (RFC 9110 §7.6.1),
// whatever Connection says: policies that copy or store headers skip them.
func IsHopByHop(name string) bool { return slices.Contains(hopHeaders[:], name) }

// ConnectionListed returns the canonical names of the headers h's
// Connection header marks as hop-by-hop for this message.
func ConnectionListed(h http.Header) []string {
	var names []string
	EachToken(h["Connection"], func(tok string) {
		names = append(names, textproto.CanonicalMIMEHeaderKey(tok))
	})
	return names
}

// RemoveHopByHop deletes the hop-by-hop headers from h in place, including
// every header named in Connection. The caller sets its own headers
// afterwards, so "Connection: X-Forwarded-For" cannot remove them.
func RemoveHopByHop(h http.Header) {
	StripConnectionListed(h)
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// StripConnectionListed deletes every header h's Connection header names
// and drops those names from Connection, keeping only keep-alive, close
// and upgrade (RFC 9110 §7.6.1). Code that sets headers on a request
// before the proxy sees it (the gateway's identity headers) calls it
// first, so a client's "Connection: X-Consumer-Name" cannot make the
// proxy's own stripping remove what the gateway asserted. It allocates
// only when Connection names something other than those three.
func StripConnectionListed(h http.Header) {
	listed := false
	EachToken(h["Connection"], func(tok string) {
		if !standardConnectionToken(tok) {
			h.Del(tok)
			listed = true
		}
	})
	if !listed {
		return
	}
	var keep []string
	EachToken(h["Connection"], func(tok string) {
		if standardConnectionToken(tok) {
			keep = append(keep, tok)
		}
	})
	if len(keep) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(keep, ", ")}
}

// standardConnectionToken reports the tokens that name no header to
// strip: keep-alive and close are connection options, and Upgrade is a
// hop header removed on its own. Recognising them avoids canonicalising
// (allocating) a lower-case token on every keep-alive request.
func standardConnectionToken(tok string) bool {
	return strings.EqualFold(tok, "keep-alive") || strings.EqualFold(tok, "close") || strings.EqualFold(tok, "upgrade")
}

// EachToken calls f with every non-empty token of comma-separated values.
func EachToken(values []string, f func(string)) {
	for _, v := range values {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if tok = textproto.TrimString(tok); tok != "" {
				f(tok)
			}
		}
	}
}
