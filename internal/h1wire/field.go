package h1wire

import "bytes"

// FieldError says why ParseFieldLine refused a line. It is a small enum
// rather than an error so that each side can map it to its own
// preallocated error value without a type switch.
type FieldError uint8

const (
	FieldOK       FieldError = iota // the line is a valid field
	FieldBadLine                    // no colon, empty name, or a non-token byte in the name
	FieldBadValue                   // control character in the value
)

// ParseFieldLine parses one "name: value" field line held in b[pos:end]
// (line ending already excluded; obs-fold continuation lines must be
// handled by the caller, since client and server treat them differently).
// The name is rewritten to canonical form in place (as
// textproto.CanonicalMIMEHeaderKey would produce for a valid token) so the
// caller can slice keys straight out of one string conversion of the head.
// It returns the end of the name (the colon's index) and the value's
// bounds with optional whitespace trimmed.
func ParseFieldLine(b []byte, pos, end int) (colon, vs, ve int, ferr FieldError) {
	colon = pos + bytes.IndexByte(b[pos:end], ':')
	if colon <= pos {
		return 0, 0, 0, FieldBadLine
	}
	upper := true
	for i := pos; i < colon; i++ {
		c := b[i]
		if !tokenTable[c] {
			return 0, 0, 0, FieldBadLine
		}
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
		upper = c == '-'
	}
	vs, ve = TrimOWSRange(b, colon+1, end)
	if !ValidFieldValueBytes(b[vs:ve]) {
		return 0, 0, 0, FieldBadValue
	}
	return colon, vs, ve, FieldOK
}
