package expr

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/query"
	"github.com/google/cel-go/interpreter"
)

// activation resolves a condition's variables lazily: ResolveName builds
// only the variable asked for, so `method == "GET"` reads one field and
// never builds the header map. The maps it does build are kept for the
// rest of the evaluation (a condition naming header twice builds it once).
type activation struct {
	v                  *Vars
	header, respHeader *headerVal
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	v := a.v
	switch name {
	case "method":
		return v.Req.Method, true
	case "scheme":
		return v.scheme(), true
	case "host":
		return v.Req.Host, true
	case "path":
		return v.path(), true
	case "route":
		return v.route(), true
	case "request_id":
		return v.requestID(), true
	case "client_ip":
		return v.clientIP(), true
	case "header":
		if a.header == nil {
			a.header = &headerVal{h: v.Req.Header}
		}
		return a.header, true
	case "response_header":
		if a.respHeader == nil {
			a.respHeader = &headerVal{h: v.RespHeader}
		}
		return a.respHeader, true
	case "query":
		return query.First(v.Req.URL.RawQuery), true
	case "param":
		m := map[string]string{}
		if info := v.info(); info != nil {
			for i := range info.Params.Len() {
				k, val := info.Params.At(i)
				if _, dup := m[k]; !dup {
					m[k] = val
				}
			}
		}
		return m, true
	case "consumer":
		m := map[string]any{"name": v.consumerName(), "plan": "", "metadata": map[string]string{}}
		if c := v.consumer(); c != nil {
			m["plan"] = c.Plan
			if c.Metadata != nil {
				m["metadata"] = c.Metadata
			}
		}
		return m, true
	case "jwt":
		if c := v.claims(); c != nil {
			return c, true
		}
		return map[string]any{}, true
	case "now":
		return v.now(), true
	case "status":
		return v.Status, true
	case "steps":
		if v.Steps != nil {
			return v.Steps, true
		}
		return map[string]any{}, true
	case "item":
		return v.Item, true
	}
	return nil, false
}

// headerMap is a header as CEL sees it: lower-case names, first value.
func headerMap(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			m[strings.ToLower(k)] = vs[0]
		}
	}
	return m
}
