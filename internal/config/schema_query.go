package config

import "reflect"

// Templates maps names to template values (header and query edits). In
// them, as in templateStructs (env_template.go), ${lower.case} is a
// request variable left for the template compiler and $${ its literal
// ${, while ${UPPER} is an environment variable as everywhere else.
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
	return f.ResponseHeaders != nil || f.ResponseBody != nil
}
