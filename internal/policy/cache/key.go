package cache

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/router"
)

// Key layout
//
//	Namespace + path + "?" + query + " " + host + " " + method
//	    [ " h:" + name + "=" + values ]...   (KeyHeaders, in config order)
//	    [ " c:" + consumer ]                 (KeyConsumer)
//	    [ " ~" + name + "=" + values + ";" ]...  (Vary secondary entries only)
//
// The path comes first, right after the namespace, so that purging every
// entry under a path prefix is one store prefix delete (Namespace +
// prefix) for all hosts of the route. The path is the normalised, escaped
// path (no raw '?' or space); the query is re-encoded in canonical form
// (no raw space), so the first space always ends the URL part. Every
// later field's value is escaped the same way, so no key's fields can be
// mistaken for another's, and a primary key K is a prefix of exactly its
// own Vary variants among keys starting with K + " ~".
//
// HEAD uses the GET key: a HEAD is answered from the GET entry.

// Key returns the primary cache key of r (the key Purge takes). It is the
// key the response would be stored under unless it varies, in which case
// Purge(Key(r)) removes every variant too.
func (c *Cache) Key(r *http.Request) string {
	var stack [256]byte
	return string(c.appendKey(stack[:0], r, reqinfo.FromContext(r.Context()), r.Method))
}

// appendKey appends the key of r, whose Info (possibly nil) is info, as if
// it had the given method.
func (c *Cache) appendKey(b []byte, r *http.Request, info *reqinfo.Info, method string) []byte {
	path := ""
	if info != nil && info.Path != "" {
		path = info.Path
	} else {
		path = r.URL.EscapedPath()
		if path == "" {
			path = "/"
		}
	}
	return c.appendKeyFor(b, path, r.URL.RawQuery, r, info, method)
}

// appendKeyFor is appendKey for another URL (path, query) of r's origin.
func (c *Cache) appendKeyFor(b []byte, path, rawQuery string, r *http.Request, info *reqinfo.Info, method string) []byte {
	b = append(b, c.cfg.Namespace...)
	b = appendPath(b, path)
	b = append(b, '?')
	b = appendQuery(b, rawQuery)
	b = append(b, ' ')
	b = appendHost(b, r.Host)
	b = append(b, ' ')
	if method == http.MethodHead {
		method = http.MethodGet
	}
	b = appendEscaped(b, method)
	for i, name := range c.keyHeaders {
		b = append(b, " h:"...)
		b = append(b, c.keyHeaderLower[i]...)
		b = append(b, '=')
		b = appendHeaderValues(b, r.Header[name])
	}
	if c.cfg.KeyConsumer && info != nil && info.Identity != nil {
		b = append(b, " c:"...)
		b = appendEscaped(b, info.Identity.Name())
	}
	return b
}

// appendVary appends the Vary part of a secondary key: the request's
// values of each varied header, normalised so that requests that say the
// same thing share a variant: the members of the field's lines are
// joined into one list (RFC 9110 §5.3: several lines are one
// comma-separated list), with the whitespace around each member and
// empty members dropped (§5.6.1), and with fold, lower-cased.
func appendVary(b []byte, names []string, h http.Header, fold bool) []byte {
	b = append(b, " ~"...)
	for _, n := range names {
		for i := 0; i < len(n); i++ { // lower-cased without allocating
			b = appendEscapedByte(b, lower(n[i]))
		}
		b = append(b, '=')
		first := true
		for _, v := range h[n] {
			for v != "" {
				var m string
				m, v, _ = strings.Cut(v, ",")
				m = strings.TrimSpace(m)
				if m == "" {
					continue
				}
				if !first {
					b = append(b, ',')
				}
				first = false
				for i := 0; i < len(m); i++ {
					ch := m[i]
					if fold {
						ch = lower(ch)
					}
					b = appendEscapedByte(b, ch)
				}
			}
		}
		b = append(b, ';')
	}
	return b
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// appendPath appends an escaped path, escaping the bytes that would make
// the key ambiguous ('?', space, control) should a caller hand us a
// non-canonical path.
func appendPath(b []byte, p string) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '?' || c <= ' ' || c >= 0x7f {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// appendHost appends the host lower-cased, without its port.
func appendHost(b []byte, host string) []byte {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c <= ' ' || c >= 0x7f || c == '%' {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// appendHeaderValues appends a header's field lines, each trimmed and
// escaped, joined by ','.
func appendHeaderValues(b []byte, vs []string) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEscaped(b, strings.TrimSpace(v))
	}
	return b
}

// maxSortedParams bounds the parameters sorted without allocating.
const maxSortedParams = 16

// appendQuery appends the query in canonical form: each parameter's name
// and value decoded and re-encoded the way url.QueryEscape does, empty
// parameters dropped, and parameters stably sorted by name (the order of
// a repeated parameter's values is kept: "a=2&a=1" is a different list
// from "a=1&a=2" to most applications). "a" and "a=" stay distinct.
func appendQuery(b []byte, q string) []byte {
	if q == "" {
		return b
	}
	type span struct{ start, nameEnd, end int }
	var spanStack [maxSortedParams]span
	var scratchStack [256]byte
	spans := spanStack[:0]
	scratch := scratchStack[:0]
	for q != "" {
		var p string
		p, q, _ = strings.Cut(q, "&")
		if p == "" {
			continue
		}
		start := len(scratch)
		name, value, hasValue := strings.Cut(p, "=")
		scratch = appendQueryComponent(scratch, name)
		nameEnd := len(scratch)
		if hasValue {
			scratch = append(scratch, '=')
			scratch = appendQueryComponent(scratch, value)
		}
		spans = append(spans, span{start, nameEnd, len(scratch)})
	}
	// Stable insertion sort by name: already-sorted queries cost a scan.
	name := func(s span) string { return string(scratch[s.start:s.nameEnd]) }
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && name(spans[j]) < name(spans[j-1]); j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	for i, s := range spans {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, scratch[s.start:s.end]...)
	}
	return b
}

const hexUpper = "0123456789ABCDEF"

// appendQueryComponent decodes s (percent-escapes and '+') and appends it
// re-encoded canonically: unreserved bytes raw, space as '+', everything
// else as upper-case %XX. A malformed escape is taken literally.
func appendQueryComponent(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			hi, _ := h1wire.Unhex(s[i+1])
			lo, _ := h1wire.Unhex(s[i+2])
			c = hi<<4 | lo
			i += 2
		}
		b = appendEscapedByte(b, c)
	}
	return b
}

// appendEscaped appends s encoded like a query component (without first
// decoding it): the escaping for header values and consumer names.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b = appendEscapedByte(b, s[i])
	}
	return b
}

func appendEscapedByte(b []byte, c byte) []byte {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
		c == '-', c == '.', c == '_', c == '~':
		return append(b, c)
	case c == ' ':
		return append(b, '+')
	}
	return append(b, '%', hexUpper[c>>4], hexUpper[c&15])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Purge deletes the entry stored under key (as returned by Key), with all
// its Vary variants.
func (c *Cache) Purge(ctx context.Context, key string) error {
	if key == "" || !strings.HasPrefix(key, c.cfg.Namespace) {
		return errors.New("cache: key is not in this cache's namespace")
	}
	err := c.backend.Delete(ctx, key)
	if _, perr := c.backend.DeletePrefix(ctx, key+" ~"); perr != nil && err == nil {
		err = perr
	}
	return err
}

// PurgePrefix deletes every entry whose path starts with pathPrefix, for
// every host, method and variant, and returns how many store keys it
// deleted. The path part is normalised as request paths are; a prefix
// may extend into the query ("/search?q=") since the query follows the
// path in the key.
func (c *Cache) PurgePrefix(ctx context.Context, pathPrefix string) (int, error) {
	if !strings.HasPrefix(pathPrefix, "/") {
		return 0, errors.New("cache: purge prefix must start with '/'")
	}
	path, query, hasQuery := strings.Cut(pathPrefix, "?")
	norm, err := router.Normalize(path)
	if err != nil {
		return 0, errors.New("cache: purge prefix has a malformed path: " + err.Error())
	}
	// Normalize may turn a trailing "/." into "/"; it never extends the
	// prefix beyond what the caller wrote.
	b := append([]byte(c.cfg.Namespace), norm...)
	if hasQuery {
		b = append(b, '?')
		b = appendQuery(b, query)
	}
	return c.backend.DeletePrefix(ctx, string(b))
}
