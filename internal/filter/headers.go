package filter

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/respwriter"
)

// HeadersConfig is Gateway API's RequestHeaderModifier /
// ResponseHeaderModifier: names are case-insensitive; Remove runs first,
// then Set (replaces), then Add (appends). The zero value edits nothing.
//
// Set and Add values are templates (expr.CompileTemplate: `${client_ip}`,
// `$${` for a literal `${`), compiled once by RequestHeaders and
// ResponseHeaders; response values may also use `${status}` and
// `${response_header.NAME}`. Every value is rendered against the request
// (and response) as it reached the filter, before any edit, so a value
// reading a header this filter removes still sees it. A value without
// variables costs what a plain string did. Values come validated from
// configuration; one that fails to compile anyway is used as literal text.
type HeadersConfig struct {
	Set    map[string]string
	Add    map[string]string
	Remove []string
	// When, if set, decides per response whether ResponseHeaders edits
	// it (a `when:` condition over the request and response); nil edits
	// every response. Request filters are skipped as a whole by the
	// caller instead (see When).
	When func(r *http.Request, status int, h http.Header) bool
}

// headerEdit is a compiled HeadersConfig, names canonical.
type headerEdit struct {
	set, add []headerValue
	remove   []string
	// dynamic: some value has variables, so applying needs the request.
	dynamic bool
	when    func(*http.Request, int, http.Header) bool
}

type headerValue struct {
	name string
	lit  string
	tpl  *expr.Template // nil: lit is the value
}

// maxStackValues is how many rendered values apply keeps on the stack.
const maxStackValues = 8

func newHeaderEdit(c HeadersConfig, templates bool, scope expr.Scope) *headerEdit {
	e := &headerEdit{when: c.When}
	value := func(k, v string) headerValue {
		hv := headerValue{name: http.CanonicalHeaderKey(k), lit: v}
		if !templates {
			return hv
		}
		if t, err := expr.CompileTemplate(v, scope); err == nil {
			if s, static := t.Literal(); static {
				hv.lit = s // `$${` unescaped
			} else {
				hv.tpl, e.dynamic = t, true
			}
		}
		return hv
	}
	for k, v := range c.Set {
		e.set = append(e.set, value(k, v))
	}
	for k, v := range c.Add {
		e.add = append(e.add, value(k, v))
	}
	for _, k := range c.Remove {
		e.remove = append(e.remove, http.CanonicalHeaderKey(k))
	}
	return e
}

// apply edits h; vars is nil when the edit has no templates.
func (e *headerEdit) apply(h http.Header, vars *expr.Vars) {
	if !e.dynamic {
		for _, k := range e.remove {
			delete(h, k)
		}
		for _, kv := range e.set {
			h[kv.name] = []string{kv.lit}
		}
		for _, kv := range e.add {
			h[kv.name] = append(h[kv.name], kv.lit)
		}
		return
	}
	// Render first: templates read the header as it was.
	var buf [maxStackValues]string
	vals := buf[:0]
	for _, kv := range e.set {
		vals = append(vals, kv.render(vars))
	}
	for _, kv := range e.add {
		vals = append(vals, kv.render(vars))
	}
	for _, k := range e.remove {
		delete(h, k)
	}
	for i, kv := range e.set {
		h[kv.name] = []string{vals[i]}
	}
	for i, kv := range e.add {
		h[kv.name] = append(h[kv.name], vals[len(e.set)+i])
	}
}

func (hv *headerValue) render(vars *expr.Vars) string {
	if hv.tpl == nil {
		return hv.lit
	}
	return fieldValue(hv.tpl.Render(vars))
}

// fieldValue makes a rendered value a valid header field value: a
// variable can carry client bytes (a decoded query parameter, a claim)
// and a CR or LF reaching the upstream would split the header.
// Control characters other than tab are dropped.
func fieldValue(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return strings.Map(func(r rune) rune {
				if (r < ' ' && r != '\t') || r == 0x7f {
					return -1
				}
				return r
			}, s)
		}
	}
	return s
}

// RequestHeaders edits the request before the next handler sees it.
// "Host" is not a header in net/http's model; setting it changes r.Host.
func RequestHeaders(c HeadersConfig) func(http.Handler) http.Handler {
	e := newHeaderEdit(c, true, expr.ScopeRequest)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if e.dynamic {
				e.apply(r.Header, &expr.Vars{Req: r})
			} else {
				e.apply(r.Header, nil)
			}
			if h, ok := r.Header["Host"]; ok {
				if len(h) > 0 {
					r.Host = h[0]
				}
				delete(r.Header, "Host")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// EditHeaders returns the edit as a function on a header, for edits made
// where there is no request to hand (the proxy's per-target headers).
// Values are literal: there is nothing to render templates against.
// Host is left alone there: it is the request's, not a header's.
func EditHeaders(c HeadersConfig) func(http.Header) {
	e := newHeaderEdit(c, false, 0)
	return func(h http.Header) {
		host, had := h["Host"]
		e.apply(h, nil)
		if had {
			h["Host"] = host
		} else {
			delete(h, "Host")
		}
	}
}

// ResponseHeaders edits the final response header just before it is
// sent; interim (1xx) responses go out as they are.
func ResponseHeaders(c HeadersConfig) func(http.Handler) http.Handler {
	e := newHeaderEdit(c, true, expr.ScopeRequest|expr.ScopeResponse)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var hook respwriter.Hook = e
			if e.dynamic || e.when != nil {
				// The request is needed at response time: one small
				// allocation, only for edits that read it.
				hook = &responseEdit{e: e, r: r}
			}
			rw := &respwriter.Writer{ResponseWriter: w, Hook: hook}
			next.ServeHTTP(rw, r)
			rw.Finish() // a handler that wrote nothing gets the edits too
		})
	}
}

// BeforeFinal edits a final response header for a static, unconditional
// edit (respwriter.Hook).
func (e *headerEdit) BeforeFinal(h http.Header, _ int) { e.apply(h, nil) }

// responseEdit is a response edit that needs its request: templates or a
// condition.
type responseEdit struct {
	e *headerEdit
	r *http.Request
}

func (re *responseEdit) BeforeFinal(h http.Header, status int) {
	if re.e.when != nil && !re.e.when(re.r, status, h) {
		return
	}
	if !re.e.dynamic {
		re.e.apply(h, nil)
		return
	}
	re.e.apply(h, &expr.Vars{Req: re.r, Status: status, RespHeader: h})
}
