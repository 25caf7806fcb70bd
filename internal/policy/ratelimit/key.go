package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"net/textproto"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/query"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Key encoding. A request's key is its parts' values, each escaped with
// KeyValue, joined by ':'. Escaping turns '%', ':' and '#' into %25, %3A
// and %23, so:
//   - ':' separates parts unambiguously (a header value "a:b" cannot pose
//     as two parts);
//   - a value longer than maxValueLen is replaced by '#' and a digest of
//     it, which no escaped value can equal, and keys stay short whatever
//     a client sends;
//   - a request missing a part (an anonymous request under a consumer
//     key, an absent header) is keyed by its client IP alone as ":<ip>",
//     which starts with an empty part that no complete key has. It never
//     falls back to a shared empty key, and an anonymous client can
//     never land on a consumer's counter or another key's.
//
// Values are otherwise stored as sent, so a consumer's key under the
// default consumer key is its name (KeyValue(name)), which the admin
// API can compute.

// maxValueLen bounds one escaped value in a key; longer ones are hashed.
const maxValueLen = 128

// KeyValue returns v as it appears as one part of a key: '%', ':' and
// '#' percent-encoded, and a value longer than 128 bytes once escaped
// replaced by '#' and 32 hex digits of its SHA-256.
func KeyValue(v string) string { return string(appendValue(nil, v)) }

// appendValue appends v escaped, or its digest when too long.
func appendValue(dst []byte, v string) []byte {
	start := len(dst)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%':
			dst = append(dst, "%25"...)
		case ':':
			dst = append(dst, "%3A"...)
		case '#':
			dst = append(dst, "%23"...)
		default:
			dst = append(dst, c)
		}
		if len(dst)-start > maxValueLen {
			sum := sha256.Sum256([]byte(v))
			dst = append(dst[:start], '#')
			return hex.AppendEncode(dst, sum[:16])
		}
	}
	return dst
}

// appendIP appends ip escaped (IPv6 addresses contain ':').
func appendIP(dst []byte, ip netip.Addr) []byte {
	var buf [64]byte
	b := ip.Unmap().AppendTo(buf[:0])
	for _, c := range b {
		if c == ':' {
			dst = append(dst, "%3A"...)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// Keyer derives a request's key from key parts. It is safe for
// concurrent use.
type Keyer struct {
	parts []KeyPart
}

// NewKeyer checks parts. No parts means every request has the empty key
// (one counter per route and rule).
func NewKeyer(parts []KeyPart) (*Keyer, error) {
	k := &Keyer{parts: make([]KeyPart, len(parts))}
	for i, p := range parts {
		if err := p.check(); err != nil {
			return nil, err
		}
		// Canonical header names index r.Header directly.
		switch p.Kind {
		case KindHeader:
			p.Name = textproto.CanonicalMIMEHeaderKey(p.Name)
		case KindAPIKey:
			if p.Name == "" {
				p.Name = DefaultAPIKeyHeader
			}
			p.Name = textproto.CanonicalMIMEHeaderKey(p.Name)
		}
		k.parts[i] = p
	}
	return k, nil
}

// Key returns r's key (see AppendKey).
func (k *Keyer) Key(r *http.Request) string { return string(k.AppendKey(nil, r)) }

// AppendKey appends r's key to dst: the parts' values escaped with
// KeyValue and joined by ':', or ":" and the client IP when a part is
// missing. The client IP and identity come from the request's
// reqinfo.Info; outside a Gatehouse listener the IP is RemoteAddr's.
func (k *Keyer) AppendKey(dst []byte, r *http.Request) []byte {
	info := reqinfo.FromContext(r.Context())
	start := len(dst)
	for i, p := range k.parts {
		if i > 0 {
			dst = append(dst, ':')
		}
		var ok bool
		if dst, ok = appendPart(dst, p, r, info); !ok {
			return appendFallback(dst[:start], r, info)
		}
	}
	return dst
}

// appendPart appends one part's value; false when the request lacks it.
func appendPart(dst []byte, p KeyPart, r *http.Request, info *reqinfo.Info) ([]byte, bool) {
	switch p.Kind {
	case KindClientIP:
		ip := clientIP(r, info)
		if !ip.IsValid() {
			return dst, false
		}
		return appendIP(dst, ip), true
	case KindConsumer:
		if info == nil || info.Identity == nil {
			return dst, false
		}
		return nonEmpty(dst, info.Identity.Name())
	case KindAPIKey:
		if v := r.Header[p.Name]; len(v) > 0 && v[0] != "" {
			sum := sha256.Sum256([]byte(v[0]))
			return hex.AppendEncode(dst, sum[:16]), true
		}
		// The api_key authentication may have removed the key before us
		// (hide_credentials): the consumer it mapped to is the next best
		// thing. "c=" cannot start a hex digest, so the two never meet.
		if info != nil && info.Identity != nil && info.Identity.Method == "api_key" && info.Identity.Name() != "" {
			return appendValue(append(dst, "c="...), info.Identity.Name()), true
		}
		return dst, false
	case KindHeader:
		if v := r.Header[p.Name]; len(v) > 0 {
			return nonEmpty(dst, v[0])
		}
		return dst, false
	case KindClaim:
		if info == nil || info.Identity == nil {
			return dst, false
		}
		// As authorization and the JWT policy read claims: flat name
		// first, then a dotted path into nested objects.
		v, _ := identity.LookupClaim(info.Identity.Claims, p.Name)
		s, _ := identity.ClaimString(v)
		return nonEmpty(dst, s)
	case KindRoute:
		if info == nil {
			return dst, false
		}
		return nonEmpty(dst, info.Route)
	case KindQuery:
		if r.URL == nil {
			return dst, false
		}
		v, _ := query.Value(r.URL.RawQuery, p.Name)
		return nonEmpty(dst, v)
	}
	return dst, false
}

func nonEmpty(dst []byte, v string) ([]byte, bool) {
	if v == "" {
		return dst, false
	}
	return appendValue(dst, v), true
}

// appendFallback appends the key of a request missing a part: ":<ip>",
// or ":unknown" when even the client IP is unknown (only outside a
// Gatehouse listener with an unparsable RemoteAddr).
func appendFallback(dst []byte, r *http.Request, info *reqinfo.Info) []byte {
	dst = append(dst, ':')
	if ip := clientIP(r, info); ip.IsValid() {
		return appendIP(dst, ip)
	}
	return append(dst, "unknown"...)
}

// clientIP is the listener's resolved client IP, else RemoteAddr's.
func clientIP(r *http.Request, info *reqinfo.Info) netip.Addr {
	if info != nil && info.ClientIP.IsValid() {
		return info.ClientIP
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr()
	}
	ip, _ := netip.ParseAddr(r.RemoteAddr)
	return ip
}
