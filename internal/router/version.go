package router

// DefaultVersionHeader is the request header that names an API version
// when VersionConfig.Header is empty.
const DefaultVersionHeader = "Api-Version"

// VersionConfig says where a request names the API version it wants. The
// zero value reads the Api-Version header only.
//
// Versioning is not a matcher of its own: VersionMatches expands a match
// that asks for a version into plain header and query matches, so the
// router's hot path, its precedence rules and its zero-allocation
// guarantee are unchanged. The price is that one versioned match becomes
// up to three candidates in the table.
type VersionConfig struct {
	// Header names the version exactly ("Api-Version: 2"); "" is
	// DefaultVersionHeader.
	Header string
	// MediaType, when set (e.g. "application/vnd.example"), also accepts
	// the version from any element of Accept:
	// "application/vnd.example.v2+json; q=0.9" names version 2. The type
	// and subtype compare case-insensitively; any structured-syntax suffix
	// (+json, +xml) or none, and any parameters, are allowed.
	MediaType string
	// Query, when set, also accepts the version from this query parameter
	// ("?api-version=2").
	Query string
}

// VersionMatches returns the matches that select version of the API: m
// with one more header (or query) condition for each place the version
// can be named. They are alternatives (a rule matches when any of its
// matches does), and each carries exactly one condition more than m, so
// under the Gateway API precedence (more header matches, then more query
// matches, win) a versioned route beats an unversioned route with
// otherwise equal conditions: the unversioned one is the default version.
//
// A request naming the version two ways that disagree ("Api-Version: 1"
// and "?api-version=2") matches both versions' routes; the header one
// wins by precedence, the query one only if the header route is absent.
func VersionMatches(c VersionConfig, m Match, version string) []Match {
	header := c.Header
	if header == "" {
		header = DefaultVersionHeader
	}
	out := []Match{withHeader(m, ValueMatch{Name: header, Value: version})}
	if c.MediaType != "" {
		out = append(out, withHeader(m, ValueMatch{Name: "Accept", Type: ValueMediaType, Value: c.MediaType + ".v" + version}))
	}
	if c.Query != "" {
		q := m
		q.Query = append(append([]ValueMatch(nil), m.Query...), ValueMatch{Name: c.Query, Value: version})
		out = append(out, q)
	}
	return out
}

// withHeader copies m with one more header condition; the slices are
// copied so the alternatives share no backing arrays.
func withHeader(m Match, v ValueMatch) Match {
	m.Headers = append(append([]ValueMatch(nil), m.Headers...), v)
	return m
}
