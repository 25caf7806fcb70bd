package jsonxform

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxPathLen bounds a path's source: paths are written by hand, and the
// bound keeps a hostile configuration from costing more than it says.
const maxPathLen = 1024

// Path is a parsed dot path. The zero Path has no segments and is not
// accepted by New (an operation on the whole document has its own
// operation: extract, wrap, jq).
type Path struct {
	segs []seg
}

// seg is one step of a path.
type seg struct {
	key string // object key; for an index segment its digits
	// index is the array index of an unquoted segment of digits, -1 for a
	// key that cannot index an array.
	index int
	wild  bool // * : every element or value
}

// ParsePath parses a dot path (see the package documentation for the
// syntax). Errors name the byte offset of the problem.
func ParsePath(s string) (Path, error) {
	if s == "" {
		return Path{}, errors.New("empty path")
	}
	if len(s) > maxPathLen {
		return Path{}, fmt.Errorf("path longer than %d bytes", maxPathLen)
	}
	var p Path
	i := 0
	for {
		var sg seg
		var err error
		if s[i] == '[' {
			sg, i, err = parseBracket(s, i)
		} else {
			sg, i, err = parseBare(s, i)
		}
		if err != nil {
			return Path{}, err
		}
		p.segs = append(p.segs, sg)
		if i == len(s) {
			return p, nil
		}
		switch s[i] {
		case '[':
			// a["x"]: the bracket follows without a dot
		case '.':
			i++
			if i == len(s) {
				return Path{}, fmt.Errorf("path %q ends with a dot", s)
			}
		default:
			return Path{}, fmt.Errorf("path %q: unexpected %q at offset %d", s, s[i], i)
		}
	}
}

// parseBare reads an unquoted segment from s[i:] up to the next dot or
// bracket.
func parseBare(s string, i int) (seg, int, error) {
	start := i
	for i < len(s) && s[i] != '.' && s[i] != '[' {
		switch s[i] {
		case ']', '"':
			return seg{}, 0, fmt.Errorf("path %q: unexpected %q at offset %d (quote keys with special characters as [\"key\"])", s, s[i], i)
		}
		i++
	}
	word := s[start:i]
	if word == "" {
		return seg{}, 0, fmt.Errorf("path %q: empty segment at offset %d", s, start)
	}
	sg, err := wordSeg(word, s)
	return sg, i, err
}

// wordSeg classifies an unquoted word: *, an index or a key.
func wordSeg(word, s string) (seg, error) {
	if word == "*" {
		return seg{wild: true}, nil
	}
	if isDigits(word) {
		n, err := strconv.Atoi(word)
		if err != nil || n > 1<<31 {
			return seg{}, fmt.Errorf("path %q: index %s is too large", s, word)
		}
		return seg{key: word, index: n}, nil
	}
	return seg{key: word, index: -1}, nil
}

func isDigits(w string) bool {
	if w == "" {
		return false
	}
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// parseBracket reads ["key"], [0] or [*] at s[i].
func parseBracket(s string, i int) (seg, int, error) {
	start := i
	i++ // [
	if i < len(s) && s[i] == '"' {
		// A JSON string: find its closing quote, honouring escapes.
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(s) {
			return seg{}, 0, fmt.Errorf("path %q: unterminated string at offset %d", s, i)
		}
		var key string
		if err := json.Unmarshal([]byte(s[i:j+1]), &key); err != nil {
			return seg{}, 0, fmt.Errorf("path %q: bad quoted key at offset %d: %v", s, i, err)
		}
		j++
		if j >= len(s) || s[j] != ']' {
			return seg{}, 0, fmt.Errorf("path %q: missing ] at offset %d", s, j)
		}
		return seg{key: key, index: -1}, j + 1, nil
	}
	end := strings.IndexByte(s[i:], ']')
	if end < 0 {
		return seg{}, 0, fmt.Errorf("path %q: missing ] for [ at offset %d", s, start)
	}
	word := s[i : i+end]
	if word != "*" && !isDigits(word) {
		return seg{}, 0, fmt.Errorf("path %q: [%s] at offset %d is neither an index, * nor a quoted key", s, word, start)
	}
	sg, err := wordSeg(word, s)
	return sg, i + end + 1, err
}

// String is the canonical form of p, which ParsePath reads back as p.
func (p Path) String() string {
	var b strings.Builder
	for i, sg := range p.segs {
		switch {
		case sg.wild:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteByte('*')
		case sg.index >= 0 || plainKey(sg.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(sg.key)
		default:
			q, _ := json.Marshal(sg.key)
			b.WriteByte('[')
			b.Write(q)
			b.WriteByte(']')
		}
	}
	return b.String()
}

// plainKey reports whether a key can be written unquoted and still read
// back as a key (not an index or the wildcard).
func plainKey(k string) bool {
	if k == "" || k == "*" || isDigits(k) {
		return false
	}
	return !strings.ContainsAny(k, `.[]"`)
}

// hasWild reports whether p contains a wildcard.
func (p Path) hasWild() bool {
	for _, sg := range p.segs {
		if sg.wild {
			return true
		}
	}
	return false
}

// child returns the value at one segment of v (never for a wildcard).
func (sg seg) child(v any) (any, bool) {
	switch c := v.(type) {
	case map[string]any:
		x, ok := c[sg.key]
		return x, ok
	case []any:
		if sg.index >= 0 && sg.index < len(c) {
			return c[sg.index], true
		}
	}
	return nil, false
}

// get returns the value at a wildcard-free path.
func (p Path) get(doc any) (any, bool) {
	v := doc
	for _, sg := range p.segs {
		var ok bool
		if v, ok = sg.child(v); !ok {
			return nil, false
		}
	}
	return v, true
}

// each calls f with every container a path's segments lead to, after
// following segs (wildcards expand).
func each(v any, segs []seg, f func(parent any)) {
	if len(segs) == 0 {
		f(v)
		return
	}
	sg := segs[0]
	if !sg.wild {
		if c, ok := sg.child(v); ok {
			each(c, segs[1:], f)
		}
		return
	}
	switch c := v.(type) {
	case map[string]any:
		for _, x := range c {
			each(x, segs[1:], f)
		}
	case []any:
		for _, x := range c {
			each(x, segs[1:], f)
		}
	}
}

// remove deletes what p names from doc, returning the document (a root
// array element removed shortens the array, so the parent's slot is
// rewritten). Missing paths are no-ops.
func (p Path) remove(doc any) any {
	return removeAt(doc, p.segs)
}

func removeAt(v any, segs []seg) any {
	sg := segs[0]
	last := len(segs) == 1
	switch c := v.(type) {
	case map[string]any:
		if sg.wild {
			if last {
				clear(c)
				return c
			}
			for k, x := range c {
				c[k] = removeAt(x, segs[1:])
			}
			return c
		}
		x, ok := c[sg.key]
		if !ok {
			return c
		}
		if last {
			delete(c, sg.key)
		} else {
			c[sg.key] = removeAt(x, segs[1:])
		}
		return c
	case []any:
		if sg.wild {
			if last {
				return c[:0]
			}
			for i, x := range c {
				c[i] = removeAt(x, segs[1:])
			}
			return c
		}
		if sg.index < 0 || sg.index >= len(c) {
			return c
		}
		if last {
			return append(c[:sg.index], c[sg.index+1:]...)
		}
		c[sg.index] = removeAt(c[sg.index], segs[1:])
		return c
	}
	return v
}

// set stores the value mk returns at p in doc, returning the document.
// Missing or null intermediate values become objects; a step that meets
// a value of the wrong kind (a key on an array, an index out of range, a
// scalar) leaves the document as it is, so set never destroys data it
// would have to pass through. mk is called once per place set.
func (p Path) set(doc any, mk func() any) any {
	return setAt(doc, p.segs, mk)
}

func setAt(v any, segs []seg, mk func() any) any {
	if len(segs) == 0 {
		return mk()
	}
	sg := segs[0]
	if v == nil {
		if sg.wild {
			return nil // nothing to expand over
		}
		v = map[string]any{}
	}
	switch c := v.(type) {
	case map[string]any:
		if sg.wild {
			for k, x := range c {
				c[k] = setAt(x, segs[1:], mk)
			}
			return c
		}
		c[sg.key] = setAt(c[sg.key], segs[1:], mk) // a missing key is nil: created
		return c
	case []any:
		if sg.wild {
			for i, x := range c {
				c[i] = setAt(x, segs[1:], mk)
			}
			return c
		}
		if sg.index >= 0 && sg.index < len(c) {
			c[sg.index] = setAt(c[sg.index], segs[1:], mk)
		}
		return c
	}
	return v
}
