package config

// This file holds the API versioning part of the schema: where a request
// names its version (top-level versioning:) and the deprecation filter
// that marks an old version's responses.

// Versioning says where requests name the API version that a match's
// version: selects. Nil (no section) reads the Api-Version header only.
type Versioning struct {
	Pos Pos `yaml:"-"`
	// Header names the version exactly (default Api-Version).
	Header string `yaml:"header"`
	// MediaType, e.g. application/vnd.example, also reads the version from
	// Accept: application/vnd.example.v2+json names version 2.
	MediaType string `yaml:"media_type"`
	// Query also reads the version from this query parameter.
	Query string `yaml:"query"`
}

// Deprecation marks a route's responses as deprecated: Deprecation (RFC
// 9745), Sunset (RFC 8594) and Link headers on every response.
type Deprecation struct {
	Pos Pos `yaml:"-"`
	// Since is when the route was or will be deprecated, RFC 3339; required
	// (RFC 9745's Deprecation value is a date).
	Since string `yaml:"since"`
	// Sunset is when the route will stop answering, RFC 3339; optional,
	// not before Since.
	Sunset string `yaml:"sunset"`
	// Link is an absolute http(s) URL documenting the deprecation (and the
	// sunset, when Sunset is set).
	Link string `yaml:"link"`
}
