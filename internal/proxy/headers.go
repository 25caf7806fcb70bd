package proxy

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
	eachToken(h["Connection"], func(tok string) {
		names = append(names, textproto.CanonicalMIMEHeaderKey(tok))
	})
	return names
}

// removeHopByHop deletes the hop-by-hop headers from h in place, including
// every header named in Connection. The caller sets its own headers
// afterwards, so "Connection: X-Forwarded-For" cannot remove them.
func removeHopByHop(h http.Header) {
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
	eachToken(h["Connection"], func(tok string) {
		if !standardConnectionToken(tok) {
			h.Del(tok)
			listed = true
		}
	})
	if !listed {
		return
	}
	var keep []string
	eachToken(h["Connection"], func(tok string) {
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

// eachToken calls f with every non-empty token of comma-separated values.
func eachToken(values []string, f func(string)) {
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

// hasToken reports whether the comma-separated header values contain token,
// case-insensitively, without allocating.
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for v != "" {
			var tok string
			tok, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(textproto.TrimString(tok), token) {
				return true
			}
		}
	}
	return false
}

// upgradeType returns the protocol h asks to switch to, or "" when it does
// not ask (an Upgrade header without "Connection: upgrade" is not a request
// to upgrade, RFC 9110 §7.8).
func upgradeType(h http.Header) string {
	if !hasToken(h["Connection"], "upgrade") {
		return ""
	}
	if v := h["Upgrade"]; len(v) > 0 {
		return textproto.TrimString(v[0])
	}
	return ""
}

// validUpgradeToken reports whether s may be sent on in an Upgrade header:
// non-empty printable ASCII, as httputil.ReverseProxy requires.
func validUpgradeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f {
			return false
		}
	}
	return s != ""
}

// copyResponseHeader moves the upstream's header into the client's. Slices
// are assigned, not copied: the response is discarded afterwards. A key the
// gateway already set is appended to, as httputil does, except the request
// ID: the client must get the ID the gateway logged, not the upstream's.
func copyResponseHeader(dst, src http.Header) {
	for k, vv := range src {
		prev, ok := dst[k]
		switch {
		case !ok:
			dst[k] = vv
		case k == "X-Request-Id":
		default:
			dst[k] = append(prev, vv...)
		}
	}
}

// announceTrailers declares the upstream's announced trailer keys to the
// client so HTTP/1.1 sends them after a chunked body. Unannounced trailers
// (usual over HTTP/2, e.g. gRPC) are added with http.TrailerPrefix later.
func announceTrailers(dst http.Header, trailer http.Header) {
	if len(trailer) == 0 {
		return
	}
	keys := make([]string, 0, len(trailer))
	for k := range trailer {
		keys = append(keys, k)
	}
	dst["Trailer"] = []string{strings.Join(keys, ", ")}
}

// copyTrailers copies the trailers received after the body. announced is
// how many keys announceTrailers declared; if the upstream sent others,
// all go out with http.TrailerPrefix, which needs no announcement.
func copyTrailers(dst http.Header, trailer http.Header, announced int) {
	if len(trailer) == announced {
		for k, vv := range trailer {
			dst[k] = vv
		}
		return
	}
	for k, vv := range trailer {
		dst[http.TrailerPrefix+k] = vv
	}
}

// isEventStream reports a Server-Sent Events response, which must reach
// the client event by event even when it declares a length.
func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	const sse = "text/event-stream"
	return len(ct) > 0 && len(ct[0]) >= len(sse) && strings.EqualFold(ct[0][:len(sse)], sse)
}
