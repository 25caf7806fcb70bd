package expr

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/query"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Scope says which variables an expression may use, so a name that cannot
// have a value where the expression runs is a load error.
type Scope uint8

const (
	// ScopeRequest: the request's variables (always available).
	ScopeRequest Scope = 1 << iota
	// ScopeResponse adds status and response_header.NAME.
	ScopeResponse
	// ScopeSteps adds steps.NAME... and item... (composition).
	ScopeSteps
)

// Vars is one request's variables. Only Req is required; every other
// field may be zero, and a variable without a value renders as "".
type Vars struct {
	Req *http.Request
	// Info is the request's record; when nil it is taken from Req's
	// context.
	Info *reqinfo.Info
	// Status and RespHeader are the response's (ScopeResponse).
	Status     int
	RespHeader http.Header
	// Steps are decoded JSON results by step name, Item the current
	// for_each element (ScopeSteps).
	Steps map[string]any
	Item  any
	// Now is the time variables read; zero means time.Now().
	Now time.Time
}

func (v *Vars) info() *reqinfo.Info {
	if v.Info == nil && v.Req != nil {
		v.Info = reqinfo.FromContext(v.Req.Context())
	}
	return v.Info
}

func (v *Vars) now() time.Time {
	if v.Now.IsZero() {
		v.Now = time.Now()
	}
	return v.Now
}

// getter reads one variable. Strings are returned as string; JSON values
// (claims, steps, item) keep their decoded type.
type getter func(v *Vars) any

// varNames lists the variables, for error messages; a trailing "." takes
// a name or path after it.
var varNames = []string{
	"method", "scheme", "host", "path", "route", "request_id", "client_ip",
	"header.NAME", "query.NAME", "param.NAME",
	"consumer.name", "consumer.plan", "consumer.metadata.KEY", "jwt.CLAIM",
	"time.unix", "time.unix_ms", "time.rfc3339",
	"status", "response_header.NAME", "steps.STEP", "item",
}

// compileVar resolves a variable name to its getter.
func compileVar(name string, scope Scope) (getter, error) {
	head, rest, _ := strings.Cut(name, ".")
	if g := simpleVar(name); g != nil {
		return g, nil
	}
	switch head {
	case "header", "query", "param", "response_header":
		if rest == "" {
			return nil, fmt.Errorf("%s needs a name: %s.NAME", head, head)
		}
		if (head == "header" || head == "response_header") && !validToken(rest) {
			return nil, fmt.Errorf("invalid header name %q in %s", rest, name)
		}
		if head == "response_header" && scope&ScopeResponse == 0 {
			return nil, fmt.Errorf("%s has no value here: only response filters and conditions see the response", head)
		}
		return keyedVar(head, rest), nil
	case "consumer":
		if k, ok := strings.CutPrefix(rest, "metadata."); ok && k != "" {
			return func(v *Vars) any {
				if c := v.consumer(); c != nil {
					return c.Metadata[k]
				}
				return ""
			}, nil
		}
	case "jwt":
		if rest == "" {
			return nil, fmt.Errorf("jwt needs a claim: jwt.CLAIM")
		}
		path := strings.Split(rest, ".")
		return func(v *Vars) any {
			if c := v.claims(); c != nil {
				return walk(c, path)
			}
			return nil
		}, nil
	case "status":
		if scope&ScopeResponse == 0 {
			return nil, fmt.Errorf("status has no value here: only response filters and conditions see the response")
		}
		return func(v *Vars) any { return v.Status }, nil
	case "steps", "item":
		if scope&ScopeSteps == 0 {
			return nil, fmt.Errorf("%s has no value here: only composition steps see earlier results", head)
		}
		if head == "steps" && rest == "" {
			return nil, fmt.Errorf("steps needs a step name: steps.STEP")
		}
		var path []string
		if rest != "" {
			path = strings.Split(rest, ".")
		}
		if head == "item" {
			return func(v *Vars) any { return walk(v.Item, path) }, nil
		}
		return func(v *Vars) any { return walk(v.Steps, path) }, nil
	}
	return nil, fmt.Errorf("unknown variable %q (variables: %s)", name, strings.Join(varNames, ", "))
}

// stringVar returns a string-typed reader for a variable whose value is
// always a string (all but status, claims, steps and item), or nil; name
// is known to be valid. Templates render through it: returning the
// string directly saves boxing it into an interface (an allocation).
func stringVar(name string) func(*Vars) string {
	switch name {
	case "method":
		return func(v *Vars) string { return v.Req.Method }
	case "scheme":
		return (*Vars).scheme
	case "host":
		return func(v *Vars) string { return v.Req.Host }
	case "path":
		return (*Vars).path
	case "route":
		return (*Vars).route
	case "request_id":
		return (*Vars).requestID
	case "client_ip":
		return (*Vars).clientIP
	case "consumer.name":
		return (*Vars).consumerName
	}
	head, key, _ := strings.Cut(name, ".")
	switch head {
	case "header":
		key = http.CanonicalHeaderKey(key)
		return func(v *Vars) string { return first(v.Req.Header[key]) }
	case "response_header":
		key = http.CanonicalHeaderKey(key)
		return func(v *Vars) string { return first(v.RespHeader[key]) }
	case "query":
		return func(v *Vars) string { return v.queryValue(key) }
	case "param":
		return func(v *Vars) string { return v.param(key) }
	}
	return nil
}

// simpleVar returns the getter of a variable without a name part, or nil.
func simpleVar(name string) getter {
	switch name {
	case "method":
		return func(v *Vars) any { return v.Req.Method }
	case "scheme":
		return func(v *Vars) any { return v.scheme() }
	case "host":
		return func(v *Vars) any { return v.Req.Host }
	case "path":
		return func(v *Vars) any { return v.path() }
	case "route":
		return func(v *Vars) any { return v.route() }
	case "request_id":
		return func(v *Vars) any { return v.requestID() }
	case "client_ip":
		return func(v *Vars) any { return v.clientIP() }
	case "consumer.name":
		return func(v *Vars) any { return v.consumerName() }
	case "consumer.plan":
		return func(v *Vars) any {
			if c := v.consumer(); c != nil {
				return c.Plan
			}
			return ""
		}
	case "time.unix":
		return func(v *Vars) any { return strconv.FormatInt(v.now().Unix(), 10) }
	case "time.unix_ms":
		return func(v *Vars) any { return strconv.FormatInt(v.now().UnixMilli(), 10) }
	case "time.rfc3339":
		return func(v *Vars) any { return v.now().UTC().Format(time.RFC3339) }
	}
	return nil
}

// The readers below are the one definition of each request variable;
// templates (getters above) and conditions (activation.go) both use them.

func (v *Vars) scheme() string {
	if v.Req.TLS != nil {
		return "https"
	}
	return "http"
}

// path is the normalised path the router matched, else the URL's.
func (v *Vars) path() string {
	if info := v.info(); info != nil && info.Path != "" {
		return info.Path
	}
	return v.Req.URL.Path
}

func (v *Vars) route() string {
	return infoString(v, func(i *reqinfo.Info) string { return i.Route })
}

func (v *Vars) requestID() string {
	return infoString(v, func(i *reqinfo.Info) string { return i.RequestID })
}

// clientIP is the address entry resolved (trusted proxies applied).
func (v *Vars) clientIP() string {
	if info := v.info(); info != nil && info.ClientIP.IsValid() {
		return info.ClientIP.String()
	}
	return ""
}

// consumerName is the consumer's name, or the authenticated subject when
// no consumer is configured for it.
func (v *Vars) consumerName() string {
	return infoString(v, func(i *reqinfo.Info) string { return i.Identity.Name() })
}

// queryValue reads one parameter without building url.Values.
func (v *Vars) queryValue(key string) string {
	s, _ := query.Value(v.Req.URL.RawQuery, key)
	return s
}

func (v *Vars) param(key string) string {
	if info := v.info(); info != nil {
		s, _ := info.Params.Get(key)
		return s
	}
	return ""
}

// claims are the token's claims, or nil.
func (v *Vars) claims() map[string]any {
	if info := v.info(); info != nil && info.Identity != nil {
		return info.Identity.Claims
	}
	return nil
}

func keyedVar(head, key string) getter {
	switch head {
	case "header":
		key = http.CanonicalHeaderKey(key)
		return func(v *Vars) any { return first(v.Req.Header[key]) }
	case "response_header":
		key = http.CanonicalHeaderKey(key)
		return func(v *Vars) any { return first(v.RespHeader[key]) }
	case "query":
		return func(v *Vars) any { return v.queryValue(key) }
	}
	return func(v *Vars) any { return v.param(key) } // param
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func infoString(v *Vars, f func(*reqinfo.Info) string) string {
	if info := v.info(); info != nil {
		return f(info)
	}
	return ""
}

// consumer is the configured consumer the request's identity maps to, or nil.
func (v *Vars) consumer() *identity.Consumer {
	if info := v.info(); info != nil && info.Identity != nil {
		return info.Identity.Consumer
	}
	return nil
}

// walk follows a dot path into decoded JSON: object keys, and array
// indexes as decimal segments. A missing step yields nil.
func walk(x any, path []string) any {
	for _, p := range path {
		switch t := x.(type) {
		case map[string]any:
			x = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			x = t[i]
		default:
			return nil
		}
	}
	return x
}

// Lookup returns a variable's value as the JSON-like value it holds
// (objects and arrays for steps, item and claims), or an error for a name
// that is not a variable in scope. Callers that need a value once (a
// for_each source) use it; hot paths compile a Template.
func Lookup(name string, scope Scope) (func(v *Vars) any, error) {
	g, err := compileVar(name, scope)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// String renders a variable's value: strings as they are, numbers without
// exponent where they are integers, nil as "", booleans as true/false and
// objects and arrays as compact JSON.
func String(x any) string {
	switch t := x.(type) {
	case string:
		return t
	case nil:
		return ""
	case int:
		return strconv.Itoa(t)
	case json.Number:
		return t.String()
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	b, err := json.Marshal(x)
	if err != nil {
		return ""
	}
	return string(b)
}

// validToken reports whether s is an HTTP token (a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
