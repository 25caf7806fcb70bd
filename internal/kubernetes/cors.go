package kubernetes

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// An HTTPRoute CORS filter (HTTPCORSFilter, GEP-1767) becomes the route's
// cors policy (internal/policy/cors), which answers preflights itself.
//
//   - allowOrigins: exact origins as they are; an origin whose host holds
//     "*" becomes an anchored allow_origin_regex in which "*" matches any
//     run of host characters (the API: greedy to the left, any number of
//     labels). "*" alone is allow_origins "*" — but with allowCredentials
//     the API requires reflecting the request's Origin instead, which
//     Gatehouse's YAML only spells as allow_origin_regex ".*" (its
//     allow_origins "*" refuses credentials so that choice is explicit).
//   - allowMethods, allowHeaders ("*" reflects what the preflight asked)
//     and exposeHeaders as they are; an exposeHeaders "*" is dropped with
//     allowCredentials, where the API says it cannot be used.
//   - maxAge: the CRD's default is 5 seconds, so 0 (absent) is 5s.
//
// Refused preflights are answered 403 without CORS headers, which the API
// allows.

// corsOrigin is the form of an allowOrigins entry: scheme, host (maybe
// with "*"), optional port.
var corsOrigin = regexp.MustCompile(`^(https?)://([a-zA-Z0-9*.-]+|\[[0-9a-fA-F:.]+\])(?::([0-9]{1,5}))?$`)

// checkCORS checks a CORS filter as the CRD would.
func checkCORS(c *gwv1.HTTPCORSFilter) error {
	if c == nil {
		return fmt.Errorf("CORS filter without its settings")
	}
	if len(c.AllowOrigins) == 0 {
		return fmt.Errorf("CORS filter allows no origin")
	}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			if len(c.AllowOrigins) > 1 {
				return fmt.Errorf("CORS allowOrigins cannot contain '*' alongside other origins")
			}
			continue
		}
		m := corsOrigin.FindStringSubmatch(string(o))
		if m == nil {
			return fmt.Errorf("CORS origin %q is not scheme://host[:port]", o)
		}
		if m[3] != "" {
			if p, _ := strconv.Atoi(m[3]); p < 1 || p > 65535 {
				return fmt.Errorf("CORS origin %q has an invalid port", o)
			}
		}
	}
	for _, m := range c.AllowMethods {
		if m != "*" && !httpguts.ValidHeaderFieldName(string(m)) {
			return fmt.Errorf("invalid CORS method %q", m)
		}
	}
	for _, h := range slices.Concat(c.AllowHeaders, c.ExposeHeaders) {
		if h != "*" && !httpguts.ValidHeaderFieldName(string(h)) {
			return fmt.Errorf("invalid CORS header name %q", h)
		}
	}
	if c.MaxAge < 0 {
		return fmt.Errorf("CORS maxAge %d is negative", c.MaxAge)
	}
	return nil
}

// corsPolicy maps a checked CORS filter.
func corsPolicy(c *gwv1.HTTPCORSFilter) *config.CORS {
	creds := c.AllowCredentials != nil && *c.AllowCredentials
	out := &config.CORS{AllowCredentials: creds, MaxAge: 5 * time.Second}
	if c.MaxAge > 0 {
		out.MaxAge = time.Duration(c.MaxAge) * time.Second
	}
	for _, o := range c.AllowOrigins {
		switch s := string(o); {
		case s == "*" && creds:
			out.AllowOriginRegex = append(out.AllowOriginRegex, ".*")
		case s == "*":
			out.AllowOrigins = append(out.AllowOrigins, s)
		case strings.Contains(s, "*"):
			out.AllowOriginRegex = append(out.AllowOriginRegex, originPattern(s))
		default:
			out.AllowOrigins = append(out.AllowOrigins, s)
		}
	}
	for _, m := range c.AllowMethods {
		out.AllowMethods = append(out.AllowMethods, string(m))
	}
	for _, h := range c.AllowHeaders {
		out.AllowHeaders = append(out.AllowHeaders, string(h))
	}
	for _, h := range c.ExposeHeaders {
		if h == "*" && creds {
			continue
		}
		out.ExposeHeaders = append(out.ExposeHeaders, string(h))
	}
	return out
}

// originPattern turns a wildcard origin into an RE2 expression (the cors
// policy anchors it): lower-cased, as browsers serialise origins, and
// without the scheme's default port, which browsers leave out.
func originPattern(o string) string {
	m := corsOrigin.FindStringSubmatch(strings.ToLower(o))
	scheme, host, port := m[1], m[2], m[3]
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	var b strings.Builder
	b.WriteString(regexp.QuoteMeta(scheme + "://"))
	for i, part := range strings.Split(host, "*") {
		if i > 0 {
			b.WriteString(`[a-z0-9.-]*`)
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	if port != "" {
		b.WriteString(":" + port)
	}
	return b.String()
}

// keepCORS puts back a CORS filter's policy (cors, nil if the rule had
// none) after ExtensionRef policies replaced the route's policies block:
// both are the rule's, and only a GatehousePolicy setting cors too is a
// conflict (the rule then answers 500). The block written for the
// GatehousePolicy gets the cors key.
func (t *translator) keepCORS(rt *config.Route, cors *config.Policies) string {
	switch {
	case cors == nil || cors.CORS == nil || rt.Respond != nil || rt.Policies == cors:
		return "" // no CORS filter, a 500 already, or no GatehousePolicy
	case rt.Policies == nil:
		rt.Policies = cors
		return ""
	case rt.Policies.CORS != nil:
		// A filter that cannot be honoured: the rule answers 500, as for
		// an unresolvable ExtensionRef (policy.go).
		rt.Backend, rt.Redirect, rt.Policies = nil, nil, nil
		rt.Respond = &config.Respond{Status: 500}
		rt.Filters = slices.DeleteFunc(rt.Filters, func(f *config.Filter) bool { return f.URLRewrite != nil || f.RequestMirror != nil })
		delete(t.res.policyNodes, rt.Name)
		return "a CORS filter and a GatehousePolicy setting cors cannot be combined"
	}
	rt.Policies.CORS = cors.CORS
	if n := t.res.policyNodes[rt.Name]; n != nil {
		var v yaml.Node
		if err := v.Encode(cors.CORS); err != nil {
			return err.Error()
		}
		prune(&v)
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "cors"}, &v)
	}
	return ""
}
