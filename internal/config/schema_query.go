package config

import "reflect"

// Templates maps names to template values (header and query edits). The
// loader's ${ENV} substitution leaves in them a ${...} that names a
// request variable (or an unset environment variable: the template
// compiler then reports it) and $${, the template's literal ${; ${TOKEN}
// with TOKEN set is substituted as everywhere else.
type Templates map[string]string

var templatesType = reflect.TypeFor[Templates]()

// QueryFilter edits the request's query string before forwarding:
// remove, then set (replaces every value of the name), then add
// (appends). Names are exact; values are templates over request
// variables (`${client_ip}`, `${jwt.sub}`, `$${` for a literal `${`),
// as are request_headers and response_headers values.
//
// Every filter may carry `when:`, a CEL expression over the request
// variables (method, scheme, host, path, route, request_id, client_ip,
// header, query, param, consumer, jwt, now); on response_headers it may
// also read status and response_header. A request filter whose condition
// is false is skipped; a response filter leaves that response alone.
type QueryFilter struct {
	Set    Templates `yaml:"set"`
	Add    Templates `yaml:"add"`
	Remove []string  `yaml:"remove"`
}

// ResponsePhase reports whether the filter acts on the response, so its
// `when:` may read the response (status, response_header) and is
// evaluated when the response header is final.
func (f *Filter) ResponsePhase() bool {
	return f.ResponseHeaders != nil
}
