package cache

import (
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// entry is one stored response with what freshness needs.
type entry struct {
	status int
	// fields are the stored headers (canonical names, hop-by-hop,
	// Set-Cookie, Content-Length and Age removed). Value slices are
	// capped (s[i:j:j]) so appending to them never writes into a shared
	// backing array.
	fields []field
	body   []byte
	// stored is when the response was received (or last revalidated).
	stored time.Time
	// lifetime is the freshness lifetime; 0 with noCache.
	lifetime time.Duration
	// swr and sie are the stale-while-revalidate and stale-if-error windows.
	swr, sie time.Duration
	// age0 is the upstream's Age when stored.
	age0 time.Duration
	// noCache: revalidate before every use (response no-cache).
	noCache bool
	// noStale: never serve stale (must-revalidate, proxy-revalidate, no-cache).
	noStale bool
	// authOK: marked public, s-maxage or must-revalidate, so it may answer
	// a request with Authorization (RFC 9111 §3.5, Config.StoreAuthorized).
	authOK bool
	// shared: the entry is served to several requests at once (a flight's
	// result), so each gets its own copy of the header values.
	shared bool

	// Derived on decode/build, not encoded separately.
	etag, lastModified string
	vary               []string
}

// field is one header with its values.
type field struct {
	name string
	vals []string
}

// header returns the first value of the stored header name (canonical).
func (e *entry) header(name string) string {
	for _, f := range e.fields {
		if f.name == name && len(f.vals) > 0 {
			return f.vals[0]
		}
	}
	return ""
}

// derive fills the validators and the Vary list from the fields.
func (e *entry) derive() {
	e.etag = e.header("Etag")
	e.lastModified = e.header("Last-Modified")
	e.vary = e.vary[:0]
	for _, f := range e.fields {
		if f.name == "Vary" {
			e.vary = appendTokens(e.vary, f.vals)
		}
	}
}

// age is the entry's current age (RFC 9111 §4.2.3, without the
// corrections for clock skew between us and the origin).
func (e *entry) age(now time.Time) time.Duration {
	a := now.Sub(e.stored)
	if a < 0 {
		a = 0
	}
	return e.age0 + a
}

// hasValidator reports whether the entry can be revalidated conditionally.
func (e *entry) hasValidator() bool { return e.etag != "" || e.lastModified != "" }

// Encoding. Two record kinds share the backend: a response and a "vary
// index" (stored at the primary key when the response varies, naming the
// request headers the secondary key is built from).
//
//	response:   0xC1 uvarint(status) varint(stored unix ns) uvarint(lifetime ns)
//	            uvarint(swr ns) uvarint(sie ns) uvarint(age0 ns) byte(flags)
//	            uvarint(#fields) { str(name) uvarint(#vals) { str(val) } } body...
//	vary index: 0xC2 uvarint(#names) { str(name) }
//
// str is uvarint(len) followed by the bytes. The body is the rest of the
// record, so it needs no length and is not copied on decode.
const (
	kindResponse  = 0xC1
	kindVaryIndex = 0xC2

	flagNoCache = 1 << 0
	flagNoStale = 1 << 1
	flagAuthOK  = 1 << 2
)

var errCorrupt = errors.New("cache: corrupt entry")

// encodeEntry serialises e.
func encodeEntry(e *entry) []byte {
	n := 1 + 6*binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64 + len(e.body)
	for _, f := range e.fields {
		n += 2*binary.MaxVarintLen64 + len(f.name)
		for _, v := range f.vals {
			n += binary.MaxVarintLen64 + len(v)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, kindResponse)
	b = binary.AppendUvarint(b, uint64(e.status))
	b = binary.AppendVarint(b, e.stored.UnixNano())
	b = appendDuration(b, e.lifetime)
	b = appendDuration(b, e.swr)
	b = appendDuration(b, e.sie)
	b = appendDuration(b, e.age0)
	var flags byte
	if e.noCache {
		flags |= flagNoCache
	}
	if e.noStale {
		flags |= flagNoStale
	}
	if e.authOK {
		flags |= flagAuthOK
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(e.fields)))
	for _, f := range e.fields {
		b = appendStr(b, f.name)
		b = binary.AppendUvarint(b, uint64(len(f.vals)))
		for _, v := range f.vals {
			b = appendStr(b, v)
		}
	}
	return append(b, e.body...)
}

// appendDuration encodes d within what decoding accepts (0..maxDuration),
// so a huge configured TTL cannot make a record unreadable.
func appendDuration(b []byte, d time.Duration) []byte {
	return binary.AppendUvarint(b, min(uint64(max(d, 0)), maxDuration))
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeVaryIndex serialises a vary index naming the varied headers.
func encodeVaryIndex(names []string) []byte {
	b := []byte{kindVaryIndex}
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, n := range names {
		b = appendStr(b, n)
	}
	return b
}

// decoder reads a record. Strings are substrings of one conversion of
// the header section, so a decode costs a few allocations whatever the
// number of headers.
type decoder struct {
	b   []byte
	err bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an element count, bounded by the bytes left (each element
// takes at least one byte), so a corrupt record cannot make us allocate
// much.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.err = true
		d.b = nil
		return 0
	}
	return int(v)
}

// str returns the next string as offsets into the decoder's bytes.
func (d *decoder) str() (start, end int, base []byte) {
	l := d.uvarint()
	if d.err || l > uint64(len(d.b)) {
		d.err = true
		d.b = nil
		return 0, 0, nil
	}
	base = d.b
	d.b = d.b[l:]
	return 0, int(l), base
}

// maxDuration bounds decoded durations so arithmetic on them cannot overflow.
const maxDuration = uint64(100 * 365 * 24 * time.Hour)

func (d *decoder) duration() time.Duration {
	v := d.uvarint()
	if v > maxDuration {
		d.err = true
	}
	return time.Duration(v)
}

// decodeRecord decodes either record kind: a response (e != nil) or a vary
// index (vary != nil).
func decodeRecord(b []byte) (e *entry, vary []string, err error) {
	if len(b) == 0 {
		return nil, nil, errCorrupt
	}
	switch b[0] {
	case kindResponse:
		e, err = decodeEntry(b[1:])
		return e, nil, err
	case kindVaryIndex:
		vary, err = decodeVaryIndex(b[1:])
		return nil, vary, err
	}
	return nil, nil, errCorrupt
}

func decodeVaryIndex(b []byte) ([]string, error) {
	d := decoder{b: b}
	n := d.count()
	names := make([]string, 0, n)
	for i := 0; i < n && !d.err; i++ {
		s, e, base := d.str()
		if d.err {
			break
		}
		names = append(names, string(base[s:e]))
	}
	if d.err || len(names) == 0 {
		return nil, errCorrupt
	}
	return names, nil
}

func decodeEntry(b []byte) (*entry, error) {
	d := decoder{b: b}
	e := &entry{}
	status := d.uvarint()
	e.stored = time.Unix(0, d.varint())
	e.lifetime = d.duration()
	e.swr = d.duration()
	e.sie = d.duration()
	e.age0 = d.duration()
	if len(d.b) < 1 {
		return nil, errCorrupt
	}
	flags := d.b[0]
	d.b = d.b[1:]
	e.noCache = flags&flagNoCache != 0
	e.noStale = flags&flagNoStale != 0
	e.authOK = flags&flagAuthOK != 0
	if d.err || status < 100 || status > 999 {
		return nil, errCorrupt
	}
	e.status = int(status)

	// First pass: measure the header section and count the values, so
	// that one string and one []string hold them all.
	nf := d.count()
	start := d.b
	var nvals int
	for i := 0; i < nf && !d.err; i++ {
		d.str()
		nv := d.count()
		nvals += nv
		for j := 0; j < nv && !d.err; j++ {
			d.str()
		}
	}
	if d.err {
		return nil, errCorrupt
	}
	section := start[:len(start)-len(d.b)]
	e.body = d.b
	all := string(section)
	vals := make([]string, nvals)
	e.fields = make([]field, nf)
	// Second pass over the same bytes, now known to be well formed.
	d2 := decoder{b: section}
	off := func() int { return len(section) - len(d2.b) }
	vi := 0
	for i := 0; i < nf; i++ {
		_, l, _ := d2.str()
		end := off()
		name := all[end-l : end]
		nv := d2.count()
		first := vi
		for j := 0; j < nv; j++ {
			_, l, _ := d2.str()
			end := off()
			vals[vi] = all[end-l : end]
			vi++
		}
		e.fields[i] = field{name: name, vals: vals[first:vi:vi]}
	}
	e.derive()
	return e, nil
}

// unstored are headers never stored besides the hop-by-hop ones
// (h1wire.IsHopByHop): cookies of one client, and what is recomputed on
// every response (Content-Length, Age, X-Cache).
var unstored = map[string]bool{"Set-Cookie": true, "Content-Length": true, "Age": true, "X-Cache": true}

// storedFields copies the storable headers of h into fields, sorted by
// name so equal responses encode identically. withheld (canonical names)
// are left out too: the fields a qualified no-cache or private names.
func storedFields(h http.Header, withheld []string) []field {
	connTokens := appendTokens(nil, h["Connection"]) // canonical, as h's keys
	fields := make([]field, 0, len(h))
	for k, vs := range h {
		if unstored[k] || h1wire.IsHopByHop(k) || len(vs) == 0 || isTrailerKey(k) || slices.Contains(connTokens, k) || slices.Contains(withheld, k) {
			continue
		}
		fields = append(fields, field{name: k, vals: slices.Clone(vs)})
	}
	slices.SortFunc(fields, func(a, b field) int { return strings.Compare(a.name, b.name) })
	return fields
}

func isTrailerKey(k string) bool {
	return len(k) > len(http.TrailerPrefix) && k[:len(http.TrailerPrefix)] == http.TrailerPrefix
}
