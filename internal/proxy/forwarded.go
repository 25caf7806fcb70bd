package proxy

import (
	"net"
	"net/http"
	"strings"
)

// setForwarded sets X-Forwarded-For, -Proto and -Host and X-Request-Id on
// the outgoing header h, after hop-by-hop stripping. What the client sent is
// kept only when its direct peer is a trusted proxy; otherwise it is
// replaced, and an RFC 7239 Forwarded header (which Gatehouse does not
// generate) is dropped rather than passed on for the upstream to believe.
func (ex *exchange) setForwarded(h http.Header, r *http.Request, trusted bool, requestID string) {
	if !trusted {
		delete(h, "X-Forwarded-For")
		delete(h, "X-Forwarded-Proto")
		delete(h, "X-Forwarded-Host")
		delete(h, "Forwarded")
	}
	// The direct peer, not Info.ClientIP: each hop appends who it talked to.
	peer := peerIP(r.RemoteAddr)
	switch prior := h["X-Forwarded-For"]; {
	case peer == "":
	case len(prior) == 0:
		ex.setHeader(h, slotXFF, "X-Forwarded-For", peer)
	case len(prior) == 1:
		ex.setHeader(h, slotXFF, "X-Forwarded-For", prior[0]+", "+peer)
	default:
		ex.setHeader(h, slotXFF, "X-Forwarded-For", strings.Join(prior, ", ")+", "+peer)
	}
	if len(h["X-Forwarded-Proto"]) == 0 {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		ex.setHeader(h, slotXFProto, "X-Forwarded-Proto", proto)
	}
	if len(h["X-Forwarded-Host"]) == 0 && r.Host != "" {
		ex.setHeader(h, slotXFHost, "X-Forwarded-Host", r.Host)
	}
	if requestID != "" {
		ex.setHeader(h, slotRequestID, "X-Request-Id", requestID)
	}
}

// peerIP returns the host part of a RemoteAddr ("" when there is none). It
// slices the string rather than parsing it into a netip.Addr and back.
func peerIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return ""
	}
	return host
}
