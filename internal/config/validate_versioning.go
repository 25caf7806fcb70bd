package config

import (
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/router"
)

// versioningDefaults names the default version header in a versioning:
// section that gives none (no section at all means the same, see
// router.VersionConfig).
func versioningDefaults(c *Config) {
	if vs := c.Versioning; vs != nil && vs.Header == "" {
		vs.Header = router.DefaultVersionHeader
	}
}

// versioning checks the top-level versioning: section.
func (v *validator) versioning(vs *Versioning) {
	if vs == nil {
		return
	}
	const owner = "versioning"
	if !validToken(vs.Header) {
		v.errorf(v.at(&vs.Header, vs.Pos), owner, "use a header name such as Api-Version", "invalid header name %q", vs.Header)
	}
	if vs.MediaType != "" || v.given(&vs.MediaType) {
		if !validVersionMediaType(vs.MediaType) {
			v.errorf(v.at(&vs.MediaType, vs.Pos), owner,
				"give type/subtype without suffix or parameters, such as application/vnd.example (Accept: application/vnd.example.v2+json names version 2)",
				"invalid media_type %q", vs.MediaType)
		}
	}
	if v.given(&vs.Query) && vs.Query == "" {
		v.errorf(v.at(&vs.Query, vs.Pos), owner, "give the query parameter name, such as api-version, or omit query", "query is empty")
	}
}

// validVersionMediaType accepts type "/" subtype, both tokens, without a
// "+suffix" (the client adds it after the version) or parameters.
func validVersionMediaType(s string) bool {
	typ, sub, ok := strings.Cut(s, "/")
	return ok && validToken(typ) && validToken(sub) && !strings.Contains(sub, "+")
}

// matchVersion checks a match's version: a token, since it is compared
// with a header value, a query value and a piece of a media type.
func (v *validator) matchVersion(m *Match, owner string) {
	if m.Version == "" && !v.given(&m.Version) {
		return
	}
	if !validToken(m.Version) {
		v.errorf(v.at(&m.Version, m.Pos), owner, "use a version such as 2 or 2024-01-01", "invalid version %q", m.Version)
	}
}

// deprecation checks a deprecation filter: since is required (RFC 9745's
// Deprecation value is a date), times are RFC 3339, sunset is not before
// since (RFC 9745 §5), link is an absolute http(s) URL that fits in a
// Link header.
func (v *validator) deprecation(d *Deprecation, pos Pos, owner string) {
	if d.Pos.Line != 0 {
		pos = d.Pos
	}
	const timeHint = "use an RFC 3339 time such as 2026-01-01T00:00:00Z"
	var since, sunset time.Time
	var sinceOK, sunsetOK bool
	if d.Since == "" {
		v.errorf(v.at(&d.Since, pos), owner, "add since: with the RFC 3339 time the route was or will be deprecated, such as 2026-01-01T00:00:00Z (RFC 9745's Deprecation is a date)",
			"deprecation has no since")
	} else if since, sinceOK = parseRFC3339(d.Since); !sinceOK {
		v.errorf(v.at(&d.Since, pos), owner, timeHint, "invalid since %q", d.Since)
	}
	if d.Sunset != "" || v.given(&d.Sunset) {
		if sunset, sunsetOK = parseRFC3339(d.Sunset); !sunsetOK {
			v.errorf(v.at(&d.Sunset, pos), owner, timeHint, "invalid sunset %q", d.Sunset)
		}
	}
	if sinceOK && sunsetOK && sunset.Before(since) {
		v.errorf(v.at(&d.Sunset, pos), owner, "a route is deprecated before it is retired: make sunset later than since",
			"sunset %s is before since %s", d.Sunset, d.Since)
	}
	if d.Link != "" || v.given(&d.Link) {
		u, err := url.Parse(d.Link)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !linkSafe(d.Link) {
			v.errorf(v.at(&d.Link, pos), owner, "use an absolute http(s) URL such as https://docs.example.com/migrate-v2",
				"invalid link %q", d.Link)
		}
	}
}

func parseRFC3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// linkSafe refuses what would break out of Link's <URI-Reference>:
// controls, spaces, quotes and angle brackets.
func linkSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' {
			return false
		}
	}
	return true
}
