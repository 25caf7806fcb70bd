package config

import "testing"

func TestValidateVersioning(t *testing.T) {
	const head = "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n"
	const route = "routes:\n  - name: r\n    match: {path: {prefix: /items}, version: \"2\"}\n    respond: {}\n"
	cases := []struct{ name, src, want string }{
		{"header", head + "versioning:\n  header: \"Api Version\"\n" + route,
			`gatehouse.yaml:3: versioning: invalid header name "Api Version" (use a header name such as Api-Version)`},
		{"media type suffix", head + "versioning:\n  media_type: application/vnd.example+json\n" + route,
			`gatehouse.yaml:3: versioning: invalid media_type "application/vnd.example+json" (give type/subtype without suffix or parameters, such as application/vnd.example (Accept: application/vnd.example.v2+json names version 2))`},
		{"media type no subtype", head + "versioning: {media_type: vnd.example}\n" + route,
			`gatehouse.yaml:2: versioning: invalid media_type "vnd.example" (give type/subtype without suffix or parameters, such as application/vnd.example (Accept: application/vnd.example.v2+json names version 2))`},
		{"media type params", head + "versioning: {media_type: \"application/vnd.example; v=1\"}\n" + route,
			`gatehouse.yaml:2: versioning: invalid media_type "application/vnd.example; v=1" (give type/subtype without suffix or parameters, such as application/vnd.example (Accept: application/vnd.example.v2+json names version 2))`},
		{"query empty", head + "versioning:\n  query: \"\"\n" + route,
			`gatehouse.yaml:3: versioning: query is empty (give the query parameter name, such as api-version, or omit query)`},
		{"version empty", head + "routes:\n  - name: r\n    match:\n      version: \"\"\n    respond: {}\n",
			`gatehouse.yaml:5: route "r": invalid version "" (use a version such as 2 or 2024-01-01)`},
		{"version not a token", head + "routes:\n  - name: r\n    matches:\n      - {path: {prefix: /a}}\n      - version: \"v 2\"\n    respond: {}\n",
			`gatehouse.yaml:6: route "r": invalid version "v 2" (use a version such as 2 or 2024-01-01)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}

	// Without a section, version: works with the defaults; with one, the
	// header defaults to Api-Version; an unquoted number is a string.
	c := mustParse(t, head+"routes:\n  - name: r\n    match: {version: 2}\n    respond: {}\n")
	if c.Versioning != nil || c.Routes[0].Match.Version != "2" {
		t.Fatalf("versioning %+v, version %q", c.Versioning, c.Routes[0].Match.Version)
	}
	c = mustParse(t, head+"versioning: {media_type: application/vnd.example, query: api-version}\n"+route)
	if v := c.Versioning; v == nil || v.Header != "Api-Version" || v.MediaType != "application/vnd.example" || v.Query != "api-version" {
		t.Fatalf("versioning %+v", c.Versioning)
	}
}

func TestValidateDeprecation(t *testing.T) {
	const src = "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n" +
		"routes:\n  - name: r\n    respond: {}\n    filters:\n"
	const timeHint = "(use an RFC 3339 time such as 2026-01-01T00:00:00Z)"
	const linkHint = "(use an absolute http(s) URL such as https://docs.example.com/migrate-v2)"
	cases := []struct{ name, filters, want string }{
		{"no since", "      - deprecation: {sunset: 2027-06-30T00:00:00Z}\n",
			`gatehouse.yaml:6: route "r": deprecation has no since (add since: with the RFC 3339 time the route was or will be deprecated, such as 2026-01-01T00:00:00Z (RFC 9745's Deprecation is a date))`},
		{"bad since", "      - deprecation:\n          since: 2026-01-01\n",
			`gatehouse.yaml:7: route "r": invalid since "2026-01-01" ` + timeHint},
		{"bad sunset", "      - deprecation:\n          since: 2026-01-01T00:00:00Z\n          sunset: \"Wed, 30 Jun 2027 00:00:00 GMT\"\n",
			`gatehouse.yaml:8: route "r": invalid sunset "Wed, 30 Jun 2027 00:00:00 GMT" ` + timeHint},
		{"sunset before since", "      - deprecation:\n          since: 2026-01-01T00:00:00Z\n          sunset: 2025-12-31T23:59:59Z\n",
			`gatehouse.yaml:8: route "r": sunset 2025-12-31T23:59:59Z is before since 2026-01-01T00:00:00Z (a route is deprecated before it is retired: make sunset later than since)`},
		{"relative link", "      - deprecation:\n          since: 2026-01-01T00:00:00Z\n          link: /docs/v2\n",
			`gatehouse.yaml:8: route "r": invalid link "/docs/v2" ` + linkHint},
		{"ftp link", "      - deprecation: {since: 2026-01-01T00:00:00Z, link: \"ftp://docs.example.com/\"}\n",
			`gatehouse.yaml:6: route "r": invalid link "ftp://docs.example.com/" ` + linkHint},
		{"link breaks the header", "      - deprecation: {since: 2026-01-01T00:00:00Z, link: \"https://docs.example.com/a>;rel=x\"}\n",
			`gatehouse.yaml:6: route "r": invalid link "https://docs.example.com/a>;rel=x" ` + linkHint},
		{"with another filter", "      - deprecation: {since: 2026-01-01T00:00:00Z}\n        response_headers: {remove: [A]}\n",
			`gatehouse.yaml:6: route "r": filter needs exactly one of request_headers, response_headers, url_rewrite, request_mirror, request_body, response_body, deprecation or query (write each filter as its own list item (- request_headers: ...))`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, src+c.filters, c.want) })
	}
	// Equal times are allowed (RFC 9745 §5: sunset not earlier than deprecation).
	c := mustParse(t, src+"      - deprecation: {since: 2026-01-01T00:00:00Z, sunset: 2026-01-01T01:00:00+01:00, link: \"https://docs.example.com/v2\"}\n")
	if d := c.Routes[0].Filters[0].Deprecation; d == nil || d.Link != "https://docs.example.com/v2" {
		t.Fatalf("deprecation %+v", d)
	}
}
