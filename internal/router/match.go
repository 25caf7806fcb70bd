package router

import "fmt"

// PathType says how PathMatch.Value is compared with the normalised request path.
type PathType uint8

const (
	// PathPrefix matches when Value is a prefix of the path on a segment
	// boundary. It is the zero value because it is the Gateway API default.
	PathPrefix PathType = iota
	// PathExact matches when the path is byte-equal to Value.
	PathExact
	// PathRegex matches when the RE2 expression Value matches the whole path.
	PathRegex
	// PathTemplate matches a pattern such as "/v1/users/{id}" or
	// "/files/{rest...}" and captures the parameters.
	PathTemplate
)

// String returns the configuration spelling of t, for error messages.
func (t PathType) String() string {
	switch t {
	case PathPrefix:
		return "prefix"
	case PathExact:
		return "exact"
	case PathRegex:
		return "regex"
	case PathTemplate:
		return "template"
	}
	return fmt.Sprintf("PathType(%d)", uint8(t))
}

// PathMatch selects requests by path. The zero value (prefix "") matches every path.
type PathMatch struct {
	Type  PathType
	Value string
}

// ValueType says how a header or query parameter value is compared.
type ValueType uint8

const (
	// ValueExact matches a byte-equal value (the Gateway API default).
	ValueExact ValueType = iota
	// ValueRegex matches when the RE2 expression matches the whole value.
	ValueRegex
	// ValuePresent matches when the header or parameter is present, whatever its value.
	ValuePresent
	// ValueMediaType (headers only) matches when an element of the
	// comma-separated header value (Accept) names the media type Value,
	// compared case-insensitively, ignoring parameters and a
	// structured-syntax suffix: Value "application/vnd.example.v2"
	// matches "text/html, application/vnd.example.v2+json; q=0.9". A
	// scan, not a regex: it runs on every browser-sized Accept header.
	ValueMediaType
)

// String returns the configuration spelling of t, for error messages.
func (t ValueType) String() string {
	switch t {
	case ValueExact:
		return "exact"
	case ValueRegex:
		return "regex"
	case ValuePresent:
		return "present"
	case ValueMediaType:
		return "media_type"
	}
	return fmt.Sprintf("ValueType(%d)", uint8(t))
}

// ValueMatch selects requests by one header (Name is case-insensitive) or one
// query parameter (Name is case-sensitive, compared after percent-decoding).
type ValueMatch struct {
	Name  string
	Type  ValueType
	Value string
}

// Match is one set of conditions, all of which must hold. Empty fields match anything.
type Match struct {
	// Hosts are exact host names ("api.example.com") or wildcards
	// ("*.example.com", which needs at least one more label). Case and a
	// trailing dot are ignored; ports are not allowed.
	Hosts   []string
	Path    PathMatch
	Methods []string
	Headers []ValueMatch
	Query   []ValueMatch
}

// Rule is one route: it matches when any of Matches matches (an empty Matches
// matches every request). Value is what Router.Match returns for it.
type Rule[T any] struct {
	Matches []Match
	Value   T
}

// RuleError says which rule and match New rejected and why, so the
// configuration layer can point at the offending line.
type RuleError struct {
	Rule  int    // index into the rules given to New
	Match int    // index into that rule's Matches
	Field string // "hosts", "path", "methods", "headers" or "query"
	Err   error
}

// Error implements error.
func (e *RuleError) Error() string {
	return fmt.Sprintf("router: rule %d, match %d: %s: %v", e.Rule, e.Match, e.Field, e.Err)
}

// Unwrap returns the underlying cause (for example a *regexp/syntax.Error).
func (e *RuleError) Unwrap() error { return e.Err }
