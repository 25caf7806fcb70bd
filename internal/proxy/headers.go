package proxy

import (
	"net/http"
	"net/textproto"
	"strings"
)

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
