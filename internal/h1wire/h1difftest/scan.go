// Package h1difftest is what the differential fuzz targets of
// internal/h1server and internal/h1client share: a lenient scanner that
// splits an HTTP/1.1 message the way net/http reads it, so that the
// deliberate differences between Gatehouse's parsers and net/http can be
// written as small named predicates over the input (see Rule), and the
// field normalisation both targets compare after.
//
// It is imported by tests only. It is deliberately lenient and simple: a
// predicate only has to recognise inputs that net/http accepted (or that
// Gatehouse accepted), so it never needs to decide validity itself.
package h1difftest

import (
	"bytes"
	"strings"
)

// Field is one field line as written, with continuation lines joined.
type Field struct {
	Name   string // as written, not canonicalised, including any whitespace before the colon
	Value  string // OWS-trimmed
	Folded bool   // continued with obs-fold
}

// Message is a message split at its line ends (LF, with an optional CR
// before it removed, as net/http's textproto does).
type Message struct {
	StartLine string
	Fields    []Field
	ObsFold   bool   // a field line starts with SP or HTAB
	BlankFold bool   // an obs-fold line holds only whitespace
	HeadEnd   bool   // the head's empty line was found
	Body      []byte // everything after the head's empty line
}

// Scan splits in into start line, fields and the rest.
func Scan(in []byte) *Message {
	m := new(Message)
	first := true
	for len(in) > 0 {
		i := bytes.IndexByte(in, '\n')
		if i < 0 {
			return m
		}
		line := string(in[:i])
		in = in[i+1:]
		line = strings.TrimSuffix(line, "\r")
		if first {
			m.StartLine, first = line, false
			continue
		}
		if line == "" {
			m.HeadEnd = true
			m.Body = in
			return m
		}
		if line[0] == ' ' || line[0] == '\t' {
			m.ObsFold = true
			if strings.Trim(line, " \t") == "" {
				m.BlankFold = true
			}
			if n := len(m.Fields); n > 0 {
				m.Fields[n-1].Folded = true
				m.Fields[n-1].Value = strings.Trim(m.Fields[n-1].Value+" "+strings.Trim(line, " \t"), " \t")
			}
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		m.Fields = append(m.Fields, Field{Name: name, Value: strings.Trim(value, " \t")})
	}
	return m
}

// Values returns the values of the fields named name (case-insensitive,
// names with whitespace before the colon do not match).
func (m *Message) Values(name string) []string {
	var vv []string
	for _, f := range m.Fields {
		if strings.EqualFold(f.Name, name) {
			vv = append(vv, f.Value)
		}
	}
	return vv
}

// Has reports whether a field named name is present.
func (m *Message) Has(name string) bool { return m.Values(name) != nil }

// AnyField reports whether some field satisfies pred.
func (m *Message) AnyField(pred func(Field) bool) bool {
	for _, f := range m.Fields {
		if pred(f) {
			return true
		}
	}
	return false
}

// Version is the HTTP-version of a request line (its last word) or of a
// status line (its first word).
func (m *Message) Version(request bool) string {
	if request {
		if i := strings.LastIndexByte(m.StartLine, ' '); i >= 0 {
			return m.StartLine[i+1:]
		}
		return ""
	}
	v, _, _ := strings.Cut(m.StartLine, " ")
	return v
}

// IsToken reports whether s is an RFC 9110 token (section 5.6.2).
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
