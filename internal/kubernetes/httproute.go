package kubernetes

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// httpRoute translates one HTTPRoute: for each attachment (a set of
// Gatehouse listeners sharing the same effective hostnames) and each
// rule, one Gatehouse route. Phases: hostnames, parents, rules, status.
func (t *translator) httpRoute(r item[*gwv1.HTTPRoute]) {
	hr := r.obj
	if err := validHosts(hr.Spec.Hostnames); err != nil {
		t.errorf(r.src, "HTTPRoute %s/%s: %v", hr.Namespace, hr.Name, err)
		t.status("HTTPRoute", hr.Namespace, hr.Name, "", cond("Accepted", false, "UnsupportedValue", "%v", err))
		return
	}
	atts, accepted := t.routeParents("HTTPRoute", hr.Namespace, hr.Name, hr.Spec.ParentRefs, hr.Spec.Hostnames)
	rs := &ruleReport{t: t, src: r.src, kind: "HTTPRoute", ns: hr.Namespace, name: hr.Name, resolved: true,
		reason: "ResolvedRefs", msg: "all references resolved"}
	for i, rule := range hr.Spec.Rules {
		t.httpRouteRule(rs, i, rule, atts)
	}
	if accepted {
		t.status("HTTPRoute", hr.Namespace, hr.Name, "", rs.conditions()...)
	}
}

// routeParents attaches a route to each parentRef, recording the
// Accepted condition per parent, and returns every attachment and
// whether any parent accepted the route (it may be accepted by listeners
// that serve nothing yet, whose certificates do not resolve).
func (t *translator) routeParents(kind, ns, name string, refs []gwv1.ParentReference, hostnames []gwv1.Hostname) ([]attachment, bool) {
	var atts []attachment
	accepted := false
	for _, p := range refs {
		a, reason, msg := t.attach(kind, ns, p, hostnames)
		sec := parentSection(ns, p)
		if reason != "" {
			t.status(kind, ns, name, sec, cond("Accepted", false, reason, "%s", msg))
			continue
		}
		atts = append(atts, a...)
		accepted = true
		t.status(kind, ns, name, sec, cond("Accepted", true, "Accepted", "attached"))
	}
	return atts, accepted
}

// ruleReport gathers what a route's rules say about its status: the last
// unresolved reference (ResolvedRefs) and the rules left out or answering
// 500 (PartiallyInvalid), each also reported as an error.
type ruleReport struct {
	t              *translator
	src            Object
	kind, ns, name string
	resolved       bool
	reason, msg    string
	bad            []string
}

func (rs *ruleReport) unresolved(p *backendProblem, prefix string) {
	rs.resolved, rs.reason, rs.msg = false, p.reason, prefix+p.msg
}

func (rs *ruleReport) invalid(i int, msg string) {
	rs.bad = append(rs.bad, fmt.Sprintf("rule %d: %s", i, msg))
	rs.t.errorf(rs.src, "%s %s/%s rule %d: %s", rs.kind, rs.ns, rs.name, i, msg)
}

func (rs *ruleReport) conditions() []Condition {
	conds := []Condition{cond("ResolvedRefs", rs.resolved, rs.reason, "%s", rs.msg)}
	if len(rs.bad) > 0 {
		conds = append(conds, cond("PartiallyInvalid", true, "UnsupportedValue", "%s", strings.Join(rs.bad, "; ")))
	}
	return conds
}

// httpRouteRule translates rule i into one route per attachment.
func (t *translator) httpRouteRule(rs *ruleReport, i int, rule gwv1.HTTPRouteRule, atts []attachment) {
	base := joinName("httproute", rs.ns, rs.name, ruleName(i, rule.Name))
	if msg := unsupportedRule(rule); msg != "" {
		rs.invalid(i, msg)
		return
	}
	refs, proto, split, msg := t.httpBackends(rs, rule)
	if msg != "" {
		rs.invalid(i, msg)
		return
	}
	mirrors, p := t.mirrors("HTTPRoute", rs.ns, rs.name, ruleName(i, rule.Name), rule)
	if p != nil {
		rs.unresolved(p, "RequestMirror: ")
	}
	for g, a := range atts {
		name := base
		if len(atts) > 1 {
			name = joinName(base, fmt.Sprintf("g%d", g))
		}
		rt := t.httpRule(name, base, rule, refs, proto, split, mirrors, a)
		if proto == "http2" {
			// An h2c backend's clients may speak h2c too (prior
			// knowledge), as the Gateway API's H2C test does.
			t.serveH2C(a.listeners)
		}
		cors := rt.Policies // from a CORS filter, before ExtensionRef policies
		msg := t.rulePolicies(rt, rs.ns, rule.Filters)
		if msg == "" {
			msg = t.keepCORS(rt, cors)
		}
		if msg != "" {
			rs.invalid(i, msg)
		}
		t.cfg.Routes = append(t.cfg.Routes, rt)
	}
}

// httpBackends resolves a rule's backendRefs once: their targets, their
// shared protocol and per-backend request headers. Unresolved refs are
// reported and left out; a non-empty message drops the whole rule.
func (t *translator) httpBackends(rs *ruleReport, rule gwv1.HTTPRouteRule) ([]weighted, string, splitHeaders, string) {
	var refs []weighted
	protos := map[string]bool{}
	proto := ""
	split, splitOK := splitHeaders{}, true
	for _, br := range rule.BackendRefs {
		w, p := t.resolveRef("HTTPRoute", rs.ns, br.BackendRef, "http")
		if p == nil {
			proto, p = t.refProtocol(rs.ns, br.BackendObjectReference)
		}
		if p != nil {
			rs.unresolved(p, "")
			continue
		}
		protos[proto] = true
		refs = append(refs, w)
		if len(rule.BackendRefs) > 1 {
			splitOK = split.add(br, w.urls) && splitOK
		}
	}
	switch {
	case !splitOK:
		return nil, "", nil, "an endpoint shared by backendRefs with different RequestHeaderModifier filters"
	case len(protos) > 1:
		return nil, "", nil, "backends of one rule must share a protocol (Service appProtocol)"
	}
	return refs, proto, split, ""
}

// unsupportedRule names what in a rule Gatehouse cannot honour, or a
// value the API server would have refused; such a rule is dropped (the
// Gateway API lets invalid rules be ignored and the others served).
func unsupportedRule(rule gwv1.HTTPRouteRule) string {
	redirects, rewrites, cors := 0, 0, 0
	for _, m := range rule.Matches {
		if err := checkMatch(m); err != nil {
			return err.Error()
		}
	}
	for _, f := range rule.Filters {
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestHeaderModifier, gwv1.HTTPRouteFilterResponseHeaderModifier:
		case gwv1.HTTPRouteFilterExtensionRef: // policy attachment, see policy.go
		case gwv1.HTTPRouteFilterRequestRedirect:
			redirects++
		case gwv1.HTTPRouteFilterURLRewrite:
			rewrites++
		case gwv1.HTTPRouteFilterCORS:
			cors++
		case gwv1.HTTPRouteFilterRequestMirror:
		default:
			return fmt.Sprintf("filter %s is not supported", f.Type)
		}
		if err := checkFilter(f, rule.Matches); err != nil {
			return err.Error()
		}
	}
	switch {
	case redirects > 1 || rewrites > 1 || cors > 1:
		return "a rule takes at most one RequestRedirect, one URLRewrite and one CORS filter"
	case redirects > 0 && rewrites > 0:
		return "RequestRedirect and URLRewrite cannot be combined"
	}
	if err := checkBackendFilters(rule); err != nil {
		return err.Error()
	}
	if rule.SessionPersistence != nil {
		return "sessionPersistence is not supported"
	}
	if err := checkResilience(rule); err != nil {
		return err.Error()
	}
	return ""
}

// parseDuration reads a Gateway API Duration (GEP-2257: 1h2m3s4ms style,
// which time.ParseDuration accepts).
func parseDuration(d gwv1.Duration) (time.Duration, error) {
	return time.ParseDuration(string(d))
}

// httpRule builds one route of a rule; proto is its backends' upstream
// protocol, split their per-target request headers, mirrors are the rule's resolved RequestMirror filters, indexed
// like rule.Filters.
func (t *translator) httpRule(name, upstreamName string, rule gwv1.HTTPRouteRule, refs []weighted, proto string, split splitHeaders, mirrors []*config.Filter, a attachment) *config.Route {
	rt := &config.Route{Name: name, Listeners: a.listeners}
	matches := rule.Matches
	if len(matches) == 0 {
		matches = []gwv1.HTTPRouteMatch{{}}
	}
	for _, m := range matches {
		rt.Matches = append(rt.Matches, httpMatch(m, a.hosts))
	}
	rt.Timeout = routeTimeout(rule)
	for i, f := range rule.Filters {
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestMirror:
			if mirrors[i] != nil {
				rt.Filters = append(rt.Filters, mirrors[i])
			}
		case gwv1.HTTPRouteFilterRequestHeaderModifier:
			rt.Filters = append(rt.Filters, &config.Filter{RequestHeaders: headerFilter(f.RequestHeaderModifier)})
		case gwv1.HTTPRouteFilterResponseHeaderModifier:
			rt.Filters = append(rt.Filters, &config.Filter{ResponseHeaders: headerFilter(f.ResponseHeaderModifier)})
		case gwv1.HTTPRouteFilterURLRewrite:
			rt.Filters = append(rt.Filters, &config.Filter{URLRewrite: urlRewrite(f.URLRewrite)})
		case gwv1.HTTPRouteFilterRequestRedirect:
			rt.Redirect = redirect(f.RequestRedirect)
		case gwv1.HTTPRouteFilterCORS:
			rt.Policies = &config.Policies{CORS: corsPolicy(f.CORS)}
		}
	}
	if rt.Redirect != nil {
		rt.Filters = slices.DeleteFunc(rt.Filters, func(f *config.Filter) bool { return f.RequestMirror != nil })
		return rt
	}
	if u := t.upstream(upstreamName, refs); u != nil {
		t.upstreamFor(u.Name, a.gateway)
		u.Protocol = proto
		split.apply(u)
		rt.Filters = append(rt.Filters, backendFilters(rule)...)
		rt.Backend = &config.Backend{Upstream: u.Name}
		rt.Retry = retryPolicy(rule)
		return rt
	}
	// HTTPRoute rule semantics: no backendRefs and no filter that answers,
	// or only invalid / zero-weight backends → 500. Nothing is forwarded,
	// so a URL rewrite has nothing to apply to.
	rt.Respond = &config.Respond{Status: 500}
	rt.Filters = slices.DeleteFunc(rt.Filters, func(f *config.Filter) bool { return f.URLRewrite != nil || f.RequestMirror != nil })
	return rt
}

func httpMatch(m gwv1.HTTPRouteMatch, hosts []string) *config.Match {
	out := &config.Match{Hosts: hosts}
	pt, pv := gwv1.PathMatchPathPrefix, "/"
	if m.Path != nil {
		if m.Path.Type != nil {
			pt = *m.Path.Type
		}
		if m.Path.Value != nil {
			pv = *m.Path.Value
		}
	}
	switch pt {
	case gwv1.PathMatchExact:
		out.Path = &config.PathMatch{Exact: pv}
	case gwv1.PathMatchRegularExpression:
		out.Path = &config.PathMatch{Regex: pv}
	default:
		out.Path = &config.PathMatch{Prefix: pv}
	}
	seen := map[string]bool{}
	for _, h := range m.Headers {
		// Equivalent names: the first one counts (case-insensitive).
		if n := strings.ToLower(string(h.Name)); seen[n] {
			continue
		} else {
			seen[n] = true
		}
		out.Headers = append(out.Headers, valueMatch(string(h.Name), h.Value, h.Type != nil && *h.Type == gwv1.HeaderMatchRegularExpression))
	}
	seenQ := map[string]bool{}
	for _, q := range m.QueryParams {
		if seenQ[string(q.Name)] {
			continue
		}
		seenQ[string(q.Name)] = true
		out.Query = append(out.Query, valueMatch(string(q.Name), q.Value, q.Type != nil && *q.Type == gwv1.QueryParamMatchRegularExpression))
	}
	if m.Method != nil {
		out.Methods = []string{string(*m.Method)}
	}
	return out
}

func valueMatch(name, value string, regex bool) *config.ValueMatch {
	if regex {
		return &config.ValueMatch{Name: name, Regex: value}
	}
	return &config.ValueMatch{Name: name, Value: value}
}

// headerFilter translates a header modifier. Gateway API values are
// literal, while Gatehouse header values are templates read through
// ${ENV} substitution: every $ is written $$, which the loader turns into
// $ (or, before {, keeps as the template's literal $${), so a value such
// as "${x}" reaches the request as it was written.
func headerFilter(h *gwv1.HTTPHeaderFilter) *config.HeaderFilter {
	out := &config.HeaderFilter{}
	if h == nil {
		return out
	}
	if len(h.Set) > 0 {
		out.Set = map[string]string{}
		for _, s := range h.Set {
			out.Set[string(s.Name)] = literalValue(s.Value)
		}
	}
	if len(h.Add) > 0 {
		out.Add = map[string]string{}
		for _, s := range h.Add {
			out.Add[string(s.Name)] = literalValue(s.Value)
		}
	}
	out.Remove = h.Remove
	return out
}

func literalValue(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func urlRewrite(u *gwv1.HTTPURLRewriteFilter) *config.URLRewrite {
	out := &config.URLRewrite{}
	if u == nil {
		return out
	}
	if u.Hostname != nil {
		out.Hostname = string(*u.Hostname)
	}
	if u.Path != nil {
		out.Path = pathRewrite(u.Path)
	}
	return out
}

func pathRewrite(p *gwv1.HTTPPathModifier) *config.PathRewrite {
	out := &config.PathRewrite{}
	switch {
	case p.Type == gwv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil:
		out.ReplaceFullPath = *p.ReplaceFullPath
	case p.Type == gwv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil:
		out.ReplacePrefixMatch = prefixTo(*p.ReplacePrefixMatch)
	}
	return out
}

// prefixTo is a ReplacePrefixMatch value for config, where "" means
// unset: the API's table gives "" and "/" the same results.
func prefixTo(v string) string {
	if v == "" {
		return "/"
	}
	return v
}

// redirect maps RequestRedirect; the Gateway API default status is 302.
// Ports follow the filter's rules, which Gatehouse's redirect shares:
// without scheme and port the port the client addressed is kept (the
// listener's, as the Host header names it); with a scheme and no port the
// scheme's well-known port is used; 80 for http and 443 for https are
// left out of Location.
func redirect(r *gwv1.HTTPRequestRedirectFilter) *config.Redirect {
	out := &config.Redirect{Status: 302}
	if r == nil {
		return out
	}
	if r.Scheme != nil {
		out.Scheme = *r.Scheme
	}
	if r.Hostname != nil {
		out.Host = string(*r.Hostname)
	}
	if r.Port != nil {
		out.Port = int(*r.Port)
	}
	if r.StatusCode != nil {
		out.Status = *r.StatusCode
	}
	if p := r.Path; p != nil {
		switch {
		case p.Type == gwv1.FullPathHTTPPathModifier && p.ReplaceFullPath != nil:
			out.Path = *p.ReplaceFullPath
		case p.Type == gwv1.PrefixMatchHTTPPathModifier && p.ReplacePrefixMatch != nil:
			out.ReplacePrefixMatch = prefixTo(*p.ReplacePrefixMatch)
		}
	}
	return out
}
