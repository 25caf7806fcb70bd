package translate

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/filter"
)

// conditional applies a filter's `when:` to its compiled layer. Request-
// phase filters are skipped as a whole when the condition is false;
// response-phase ones (config.Filter.ResponsePhase) were given their
// condition in their own config by routeFilter (responseWhen), since it
// reads the response. A new filter needs nothing here: a request filter
// is covered as it is, a response filter sets its Config's When from
// responseWhen(f.When) and is listed in ResponsePhase.
func conditional(f *config.Filter, l layer) layer {
	if f.When == "" || f.ResponsePhase() {
		return l
	}
	return filter.When(requestWhen(f.When), l)
}

// requestWhen compiles a request condition; "" is nil (always). The
// source was compiled by config validation: a failure here cannot
// happen, and would make the condition false (the filter skipped) rather
// than stop the load.
func requestWhen(src string) func(*http.Request) bool {
	if src == "" {
		return nil
	}
	c, err := expr.CompileCondition(src, expr.ScopeRequest)
	if err != nil {
		return func(*http.Request) bool { return false }
	}
	return func(r *http.Request) bool { return c.Eval(&expr.Vars{Req: r}) }
}

// responseWhen compiles a response-phase condition, which may read the
// status and response headers; "" is nil (always).
func responseWhen(src string) func(*http.Request, int, http.Header) bool {
	if src == "" {
		return nil
	}
	c, err := expr.CompileCondition(src, expr.ScopeRequest|expr.ScopeResponse)
	if err != nil {
		return func(*http.Request, int, http.Header) bool { return false }
	}
	return func(r *http.Request, status int, h http.Header) bool {
		return c.Eval(&expr.Vars{Req: r, Status: status, RespHeader: h})
	}
}

// literalHeaders is a target's header edit with template escapes
// resolved ($${ → ${): validation allowed no variables there.
func literalHeaders(c *config.HeaderFilter) filter.HeadersConfig {
	lit := func(m config.Templates) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = v
			if t, err := expr.CompileTemplate(v, expr.ScopeRequest); err == nil {
				if s, ok := t.Literal(); ok {
					out[k] = s
				}
			}
		}
		return out
	}
	return filter.HeadersConfig{Set: lit(c.Set), Add: lit(c.Add), Remove: c.Remove}
}
