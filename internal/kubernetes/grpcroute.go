package kubernetes

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"golang.org/x/net/http/httpguts"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// A gRPC call is an HTTP/2 POST to /SERVICE/METHOD (gRPC over HTTP/2,
// "Path → ":path" "/" Service-Name "/" {method name}"), so a GRPCRoute
// is translated into ordinary Gatehouse routes whose path match names the
// service and method:
//
//	service and method, Exact     exact    /SERVICE/METHOD
//	service only, Exact           template /SERVICE/{method}
//	method only, or any regex     regex    /(?:SERVICE)/(?:METHOD), an
//	                              empty side being [^/]+
//	no method match               prefix   /
//
// The spec's precedence (GRPCRouteRule.Matches: hostname, then characters
// of the matching service, then of the method, then header count) then
// follows from the router's (host, then exact paths, templates, regexes,
// prefixes, then header count) for Exact matches, the only ones whose
// "matching characters" are defined: two Exact matches of one request
// share their non-empty names, so service and method before service only
// before method only before none is the spec's order. Regex matches rank
// between service-only and no method match, longer expressions first
// (implementation-specific). Upstreams speak HTTP/2 (protocol http2: h2c
// with prior knowledge to http:// targets, as gRPC servers expect), and
// the plain http listeners a GRPCRoute attaches to serve h2c.

// grpcServiceRe and grpcMethodRe are the GRPCMethodMatch Exact patterns
// of the CRD: they also keep "/" out of the path built from them.
var (
	grpcServiceRe = regexp.MustCompile(`^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$`)
	grpcMethodRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z_0-9]*$`)
)

// grpcRoute translates one GRPCRoute: for each attachment and each rule,
// one Gatehouse route (named grpcroute_NS_NAME_RULE[_gN]).
func (t *translator) grpcRoute(r item[*gwv1.GRPCRoute]) {
	gr := r.obj
	const kind = "GRPCRoute"
	err := validHosts(gr.Spec.Hostnames)
	if err == nil {
		err = uniqueRuleNames(gr.Spec.Rules)
	}
	if err != nil {
		t.errorf(r.src, "GRPCRoute %s/%s: %v", gr.Namespace, gr.Name, err)
		t.status(kind, gr.Namespace, gr.Name, "", cond("Accepted", false, "UnsupportedValue", "%v", err))
		return
	}
	atts, accepted := t.routeParents(kind, gr.Namespace, gr.Name, gr.Spec.ParentRefs, gr.Spec.Hostnames)
	rs := &ruleReport{t: t, src: r.src, kind: kind, ns: gr.Namespace, name: gr.Name, resolved: true,
		reason: "ResolvedRefs", msg: "all references resolved"}
	for i, rule := range gr.Spec.Rules {
		t.grpcRouteRule(rs, i, rule, atts)
	}
	if accepted {
		t.status(kind, gr.Namespace, gr.Name, "", rs.conditions()...)
	}
}

// grpcRouteRule translates rule i into one route per attachment.
func (t *translator) grpcRouteRule(rs *ruleReport, i int, rule gwv1.GRPCRouteRule, atts []attachment) {
	base := joinName("grpcroute", rs.ns, rs.name, i)
	if msg := unsupportedGRPCRule(rule); msg != "" {
		rs.invalid(i, msg)
		return
	}
	var refs []weighted
	for _, br := range rule.BackendRefs {
		w, p := t.resolveRef(rs.kind, rs.ns, br.BackendRef, "http")
		if p != nil {
			rs.unresolved(p, "")
			continue
		}
		refs = append(refs, w)
	}
	mirrors := map[int]*config.Filter{}
	for j, f := range rule.Filters {
		if f.Type != gwv1.GRPCRouteFilterRequestMirror {
			continue
		}
		mf, p := t.grpcMirror(rs.ns, joinName(base, "mirror", j), f.RequestMirror)
		if p != nil {
			rs.unresolved(p, "request mirror: ")
			continue
		}
		mirrors[j] = mf
	}
	for g, a := range atts {
		name := base
		if len(atts) > 1 {
			name = joinName(base, fmt.Sprintf("g%d", g))
		}
		t.cfg.Routes = append(t.cfg.Routes, t.grpcRule(name, base, rule, refs, mirrors, a))
		t.serveH2C(a.listeners)
	}
}

// uniqueRuleNames applies the CRD rule "Rule name must be unique within
// the route" (GRPCRouteNamedRouteRule).
func uniqueRuleNames(rules []gwv1.GRPCRouteRule) error {
	seen := map[gwv1.SectionName]bool{}
	for _, r := range rules {
		if r.Name == nil {
			continue
		}
		if seen[*r.Name] {
			return fmt.Errorf("rule name %q is used twice", *r.Name)
		}
		seen[*r.Name] = true
	}
	return nil
}

// unsupportedGRPCRule names what in a rule Gatehouse cannot honour, or a
// value the API server would have refused; such a rule is dropped.
func unsupportedGRPCRule(rule gwv1.GRPCRouteRule) string {
	for _, m := range rule.Matches {
		if err := checkGRPCMatch(m); err != nil {
			return err.Error()
		}
	}
	seen := map[gwv1.GRPCRouteFilterType]bool{}
	for _, f := range rule.Filters {
		switch f.Type {
		case gwv1.GRPCRouteFilterRequestHeaderModifier:
			if err := checkHeaderFilter(f.RequestHeaderModifier); err != nil {
				return err.Error()
			}
		case gwv1.GRPCRouteFilterResponseHeaderModifier:
			if err := checkHeaderFilter(f.ResponseHeaderModifier); err != nil {
				return err.Error()
			}
		case gwv1.GRPCRouteFilterRequestMirror:
			if _, err := grpcMirrorPercent(f.RequestMirror); err != nil {
				return err.Error()
			}
			continue // may be repeated
		default:
			return fmt.Sprintf("filter %s is not supported", f.Type)
		}
		if seen[f.Type] {
			return fmt.Sprintf("filter %s is repeated", f.Type)
		}
		seen[f.Type] = true
	}
	for _, br := range rule.BackendRefs {
		if len(br.Filters) > 0 {
			return "backendRef filters are not supported"
		}
	}
	if rule.SessionPersistence != nil {
		return "sessionPersistence is not supported"
	}
	return ""
}

// checkGRPCMatch checks one GRPCRouteMatch as the CRD would.
func checkGRPCMatch(m gwv1.GRPCRouteMatch) error {
	if mm := m.Method; mm != nil {
		svc, meth := deref(mm.Service), deref(mm.Method)
		if svc == "" && meth == "" {
			return fmt.Errorf("method match needs a service or a method")
		}
		if mm.Type != nil && *mm.Type == gwv1.GRPCMethodMatchRegularExpression {
			for _, re := range []string{svc, meth} {
				if _, err := regexp.Compile(re); err != nil {
					return fmt.Errorf("method match regex %q does not compile (RE2): %v", re, err)
				}
			}
		} else {
			if svc != "" && !grpcServiceRe.MatchString(svc) {
				return fmt.Errorf("invalid gRPC service name %q", svc)
			}
			if meth != "" && !grpcMethodRe.MatchString(meth) {
				return fmt.Errorf("invalid gRPC method name %q", meth)
			}
		}
	}
	for _, h := range m.Headers {
		if !httpguts.ValidHeaderFieldName(string(h.Name)) {
			return fmt.Errorf("invalid header name %q", h.Name)
		}
		if err := checkValue(h.Value, h.Type != nil && *h.Type == gwv1.GRPCHeaderMatchRegularExpression); err != nil {
			return err
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// grpcRule builds the Gatehouse route of one rule on one attachment.
func (t *translator) grpcRule(name, upstreamName string, rule gwv1.GRPCRouteRule, refs []weighted, mirrors map[int]*config.Filter, a attachment) *config.Route {
	rt := &config.Route{Name: name, Listeners: a.listeners}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gwv1.GRPCRouteMatch{{}}
	}
	for _, m := range matches {
		rt.Matches = append(rt.Matches, grpcMatch(m, a.hosts))
	}
	for j, f := range rule.Filters {
		switch f.Type {
		case gwv1.GRPCRouteFilterRequestHeaderModifier:
			rt.Filters = append(rt.Filters, &config.Filter{RequestHeaders: headerFilter(f.RequestHeaderModifier)})
		case gwv1.GRPCRouteFilterResponseHeaderModifier:
			rt.Filters = append(rt.Filters, &config.Filter{ResponseHeaders: headerFilter(f.ResponseHeaderModifier)})
		case gwv1.GRPCRouteFilterRequestMirror:
			if m := mirrors[j]; m != nil {
				rt.Filters = append(rt.Filters, m)
			}
		}
	}
	if u := t.upstream(upstreamName, refs); u != nil {
		t.upstreamFor(u.Name, a.gateway)
		u.Protocol = "http2"
		rt.Backend = &config.Backend{Upstream: u.Name}
		return rt
	}
	// GRPCRouteRule.BackendRefs: with no usable backend every request
	// MUST receive UNAVAILABLE. A trailers-only gRPC response says so to
	// gRPC clients (grpc-status 14), whatever their HTTP status mapping.
	rt.Respond = &config.Respond{Status: 200, Headers: map[string]string{
		"Content-Type": "application/grpc",
		"Grpc-Status":  "14",
		"Grpc-Message": "no usable backend",
	}}
	return rt
}

// grpcMatch maps one GRPCRouteMatch (see the table above).
func grpcMatch(m gwv1.GRPCRouteMatch, hosts []string) *config.Match {
	out := &config.Match{Hosts: hosts, Path: &config.PathMatch{Prefix: "/"}}
	if mm := m.Method; mm != nil {
		svc, meth := deref(mm.Service), deref(mm.Method)
		regex := mm.Type != nil && *mm.Type == gwv1.GRPCMethodMatchRegularExpression
		switch {
		case !regex && svc != "" && meth != "":
			out.Path = &config.PathMatch{Exact: "/" + svc + "/" + meth}
		case !regex && meth == "":
			out.Path = &config.PathMatch{Template: "/" + svc + "/{method}"}
		default:
			if !regex {
				svc, meth = regexp.QuoteMeta(svc), regexp.QuoteMeta(meth)
			}
			if svc == "" {
				svc = "[^/]+"
			}
			if meth == "" {
				meth = "[^/]+"
			}
			out.Path = &config.PathMatch{Regex: "/(?:" + svc + ")/(?:" + meth + ")"}
		}
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		// Equivalent names: the first one counts (case-insensitive).
		n := strings.ToLower(string(h.Name))
		if seen[n] {
			continue
		}
		seen[n] = true
		out.Headers = append(out.Headers, valueMatch(string(h.Name), h.Value, h.Type != nil && *h.Type == gwv1.GRPCHeaderMatchRegularExpression))
	}
	return out
}

// serveH2C turns on cleartext HTTP/2 on the plain http listeners among
// names: gRPC clients without TLS speak HTTP/2 with prior knowledge.
// HTTPS listeners offer h2 through ALPN by default.
func (t *translator) serveH2C(names []string) {
	for _, l := range t.cfg.Listeners {
		for _, n := range names {
			if l.Name == n && l.Protocol == "http" {
				l.H2C = true
			}
		}
	}
}

// grpcMirror maps a RequestMirror filter to a request_mirror filter
// whose upstream (named name, protocol http2) holds the mirror backend's
// targets; a backend that does not resolve leaves the mirror out.
func (t *translator) grpcMirror(routeNS, name string, m *gwv1.HTTPRequestMirrorFilter) (*config.Filter, *backendProblem) {
	w, p := t.resolveRef("GRPCRoute", routeNS, gwv1.BackendRef{BackendObjectReference: m.BackendRef}, "http")
	if p != nil {
		return nil, p
	}
	w.weight = 1
	u := t.upstream(name, []weighted{w})
	if u == nil {
		return nil, &backendProblem{"BackendNotFound", fmt.Sprintf("mirror backend %s has no ready endpoint", m.BackendRef.Name)}
	}
	u.Protocol = "http2"
	pct, _ := grpcMirrorPercent(m)
	return &config.Filter{RequestMirror: &config.RequestMirror{Upstream: u.Name, Percent: pct}}, nil
}

// grpcMirrorPercent is the share of requests a RequestMirror copies, in
// percent (percent, or fraction numerator/denominator, default 100).
func grpcMirrorPercent(m *gwv1.HTTPRequestMirrorFilter) (float64, error) {
	switch {
	case m == nil:
		return 0, fmt.Errorf("RequestMirror filter without its settings")
	case m.Percent != nil && m.Fraction != nil:
		return 0, fmt.Errorf("RequestMirror takes percent or fraction, not both")
	case m.Percent != nil:
		if *m.Percent < 1 || *m.Percent > 100 {
			return 0, fmt.Errorf("RequestMirror percent %d is out of range (1..100 here; 0 would mirror nothing)", *m.Percent)
		}
		return float64(*m.Percent), nil
	case m.Fraction != nil:
		den := int32(100)
		if m.Fraction.Denominator != nil {
			den = *m.Fraction.Denominator
		}
		if den < 1 || m.Fraction.Numerator < 1 || m.Fraction.Numerator > den {
			return 0, fmt.Errorf("RequestMirror fraction %d/%d is out of range (0 < numerator <= denominator)", m.Fraction.Numerator, den)
		}
		return 100 * float64(m.Fraction.Numerator) / float64(den), nil
	}
	return 100, nil
}
