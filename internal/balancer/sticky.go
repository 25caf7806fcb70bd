package balancer

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"net/http"
	"sync"
	"time"
)

// DefaultStickyCookie is the cookie name sticky sessions use unless
// StickyConfig.Cookie names another.
const DefaultStickyCookie = "gh_sticky"

// StickyConfig configures cookie affinity (sticky sessions). The zero value
// is usable: a session cookie named gh_sticky, Path=/, SameSite=Lax, and a
// random per-process key. The gateway sets Secure and HTTPOnly by default;
// this package only honours the fields.
type StickyConfig struct {
	// Cookie is the cookie name; "" means DefaultStickyCookie.
	Cookie string
	// TTL is how long a pin lasts: 0 is a session cookie that never
	// expires on the server side; otherwise the cookie carries Max-Age and
	// an authenticated expiry that is checked on every read, and Pin
	// refreshes it once less than half of TTL is left, so an active client
	// stays pinned.
	TTL time.Duration
	// Secure and HTTPOnly set the cookie attributes of the same names.
	Secure, HTTPOnly bool
	// SameSite is the cookie's SameSite attribute; 0 means Lax,
	// http.SameSiteDefaultMode leaves the attribute out. Browsers drop
	// SameSite=None cookies that are not also Secure.
	SameSite http.SameSite
	// Path is the cookie's Path; "" means "/".
	Path string
	// Key is the HMAC-SHA256 key that authenticates cookies. Gateways
	// that share clients (several instances behind one address, or
	// cookies meant to survive restarts) must configure the same secret;
	// empty means a random key made once per process, so pins survive
	// reloads but not restarts.
	Key []byte
}

// validate reports configuration NewSticky cannot honour.
func (c *StickyConfig) validate() error {
	if c.TTL < 0 {
		return fmt.Errorf("sticky: ttl %v is negative; use 0 for a session cookie", c.TTL)
	}
	if c.Cookie != "" {
		if err := (&http.Cookie{Name: c.Cookie, Value: "x"}).Valid(); err != nil {
			return fmt.Errorf("sticky: cookie name %q is not a valid cookie name", c.Cookie)
		}
	}
	return nil
}

// Cookie value layout: base64url(payload) "." base64url(MAC), where
// payload = target id (8 bytes) ‖ expiry (8 bytes, Unix seconds, 0 = none)
// and MAC = HMAC-SHA256(key, payload) truncated to 16 bytes (128 bits, far
// beyond what online forgery can guess).
const (
	stickyPayloadLen = 16
	stickyMACLen     = 16
	stickyB64Len     = 22 // unpadded base64 of 16 bytes
	stickyValueLen   = 2*stickyB64Len + 1
)

var stickyB64 = base64.RawURLEncoding.Strict()

// processStickyKey is the key of sticky configurations that bring none:
// one per process, so it survives reloads (a reload builds a new Sticky).
var processStickyKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		// crypto/rand does not fail on supported platforms (Go 1.24+
		// crashes the program itself if it does).
		panic(err)
	}
	return k
})

// Sticky is cookie affinity around another Balancer: a request that
// carries a valid cookie naming an available target (other than skip) goes
// to that target; any other request — no cookie, or one tampered with,
// expired, signed with another key, or naming a target that is gone, down
// or skipped — goes to the inner algorithm, and Pin then issues a cookie
// for whatever target serves it.
//
// The cookie names its target by an opaque id derived with the key from
// the target's address, never by the address, so it does not reveal the
// upstream's topology, and it is authenticated with an HMAC, so a client
// cannot steer itself to a target of its choice. Picking with a valid
// cookie does not allocate.
type Sticky struct {
	inner    Balancer
	byID     map[uint64]*Target
	idOf     map[string]uint64 // by Addr, for Pin
	cookie   string
	path     string
	ttl      time.Duration
	ttlSecs  int64
	secure   bool
	httpOnly bool
	sameSite http.SameSite
	macs     sync.Pool // *stickyMAC
}

// stickyMAC is a reusable HMAC state with its scratch space: the buffers
// live beside the hash so that passing them to it (an interface, through
// which everything escapes) allocates nothing per use.
type stickyMAC struct {
	h       hash.Hash
	payload [stickyPayloadLen]byte
	sum     [sha256.Size]byte
}

// NewSticky returns cookie affinity over targets (the list inner balances)
// with inner choosing for unpinned requests. Defaults are as StickyConfig
// documents; NewWithOptions also validates c.
func NewSticky(inner Balancer, targets []*Target, c StickyConfig) *Sticky {
	s := &Sticky{
		inner:    inner,
		byID:     make(map[uint64]*Target, len(targets)),
		idOf:     make(map[string]uint64, len(targets)),
		cookie:   c.Cookie,
		path:     c.Path,
		ttl:      max(c.TTL, 0),
		secure:   c.Secure,
		httpOnly: c.HTTPOnly,
		sameSite: c.SameSite,
	}
	if s.cookie == "" {
		s.cookie = DefaultStickyCookie
	}
	if s.path == "" {
		s.path = "/"
	}
	if s.sameSite == 0 {
		s.sameSite = http.SameSiteLaxMode
	}
	if s.ttl > 0 {
		s.ttlSecs = int64((s.ttl + time.Second - 1) / time.Second)
	}
	key := c.Key
	if len(key) == 0 {
		key = processStickyKey()
	}
	key = append([]byte(nil), key...) // the caller's slice may change
	s.macs.New = func() any { return &stickyMAC{h: hmac.New(sha256.New, key)} }

	// Target ids are a keyed hash of the address: stable for as long as
	// the key is, and not reversible by trying the (small) space of
	// private addresses and ports, as an unkeyed hash would be.
	idMAC := hmac.New(sha256.New, key)
	for _, t := range targets {
		idMAC.Reset()
		idMAC.Write([]byte("gatehouse sticky target id\x00"))
		idMAC.Write([]byte(t.Addr))
		id := binary.BigEndian.Uint64(idMAC.Sum(nil))
		// A 64-bit collision within one pool is a 1-in-10^15 event for a
		// thousand targets; the first target keeps the id.
		if _, dup := s.byID[id]; !dup {
			s.byID[id] = t
			s.idOf[t.Addr] = id
		}
	}
	return s
}

// Pick implements Balancer.
func (s *Sticky) Pick(r *http.Request, skip *Target) *Target {
	if id, _, ok := s.read(r); ok {
		if t := s.byID[id]; t != nil && t != skip && t.Available() {
			return t
		}
	}
	return s.inner.Pick(r, skip)
}

// Pin returns the Set-Cookie header value that pins r's client to t, the
// target that served (or is about to serve) r, or "" when r already
// carries a valid cookie for t that needs no refresh, or when t is nil or
// not one of this balancer's targets. A cookie naming another target is
// replaced (re-pinned).
func (s *Sticky) Pin(r *http.Request, t *Target) string {
	if t == nil {
		return ""
	}
	id, ok := s.idOf[t.Addr]
	if !ok {
		return ""
	}
	if got, exp, ok := s.read(r); ok && got == id && !s.stale(exp) {
		return ""
	}
	return s.issue(id)
}

// stale reports whether a valid cookie with expiry exp should be refreshed:
// with a TTL, when it has no expiry (issued while there was no TTL) or less
// than half the TTL is left.
func (s *Sticky) stale(exp int64) bool {
	if s.ttl == 0 {
		return false
	}
	return exp == 0 || exp-unixNow() < s.ttlSecs/2
}

// read returns the target id and expiry of r's sticky cookie if it is
// well formed, authentic and unexpired. Only the first cookie of that name
// is considered (browsers send the most specific path first), so a client
// cannot make the gateway verify many.
func (s *Sticky) read(r *http.Request) (id uint64, exp int64, ok bool) {
	if r == nil {
		return 0, 0, false
	}
	v := cookieValue(r.Header, s.cookie)
	if len(v) != stickyValueLen || v[stickyB64Len] != '.' {
		return 0, 0, false
	}
	var payload [stickyPayloadLen]byte
	var mac [stickyMACLen]byte
	if !decodeB64(payload[:], v[:stickyB64Len]) || !decodeB64(mac[:], v[stickyB64Len+1:]) {
		return 0, 0, false
	}
	want := s.mac(&payload)
	if !hmac.Equal(want[:], mac[:]) {
		return 0, 0, false
	}
	id = binary.BigEndian.Uint64(payload[:8])
	exp = int64(binary.BigEndian.Uint64(payload[8:]))
	if exp != 0 && unixNow() >= exp {
		return 0, 0, false
	}
	return id, exp, true
}

// mac is the truncated HMAC of payload.
func (s *Sticky) mac(payload *[stickyPayloadLen]byte) (out [stickyMACLen]byte) {
	m := s.macs.Get().(*stickyMAC)
	m.payload = *payload
	m.h.Reset()
	m.h.Write(m.payload[:])
	copy(out[:], m.h.Sum(m.sum[:0]))
	s.macs.Put(m)
	return out
}

// issue builds the Set-Cookie value pinning to id. It allocates, but runs
// once per client and target (and TTL/2), not per request.
func (s *Sticky) issue(id uint64) string {
	var payload [stickyPayloadLen]byte
	binary.BigEndian.PutUint64(payload[:8], id)
	if s.ttl > 0 {
		binary.BigEndian.PutUint64(payload[8:], uint64(unixNow()+s.ttlSecs))
	}
	mac := s.mac(&payload)
	var v [stickyValueLen]byte
	stickyB64.Encode(v[:stickyB64Len], payload[:])
	v[stickyB64Len] = '.'
	stickyB64.Encode(v[stickyB64Len+1:], mac[:])
	c := http.Cookie{
		Name:     s.cookie,
		Value:    string(v[:]),
		Path:     s.path,
		MaxAge:   int(s.ttlSecs),
		Secure:   s.secure,
		HttpOnly: s.httpOnly,
		SameSite: s.sameSite,
	}
	return c.String()
}

// decodeB64 decodes src, strict unpadded base64url, into dst, which must
// be exactly its decoded length. Hand-written rather than
// base64.Encoding.Decode so the cookie string needs no []byte copy.
func decodeB64(dst []byte, src string) bool {
	if len(src) != base64.RawURLEncoding.EncodedLen(len(dst)) {
		return false
	}
	var acc uint32
	var nbits uint
	j := 0
	for i := 0; i < len(src); i++ {
		d := b64Val[src[i]]
		if d == 0xff {
			return false
		}
		acc = acc<<6 | uint32(d)
		nbits += 6
		if nbits >= 8 {
			nbits -= 8
			dst[j] = byte(acc >> nbits)
			j++
		}
	}
	// Strict: the unused low bits of the last character must be zero, so
	// each payload has exactly one spelling.
	return acc&(1<<nbits-1) == 0
}

// b64Val maps a base64url character to its value, 0xff for any other byte.
var b64Val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()
