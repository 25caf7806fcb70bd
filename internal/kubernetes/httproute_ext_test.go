package kubernetes

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// extended translates testdata/extended.yaml (one HTTPRoute per extended
// feature) and loads the result with config.Parse.
func extended(t *testing.T) (*Result, *config.Config) {
	t.Helper()
	res := Translate(load(t, "extended.yaml"), Options{SecretDir: t.TempDir()})
	return res, parse(t, res)
}

// errorFor is the translation error mentioning s, or "".
func errorFor(res *Result, s string) string {
	for _, e := range res.Errors {
		if strings.Contains(e.Error(), s) {
			return e.Error()
		}
	}
	return ""
}

// TestRedirect: RequestRedirect with every field, ReplacePrefixMatch
// included ("" is "/"); a ReplacePrefixMatch on an Exact match drops the
// rule (the API's CEL rule would have refused it).
func TestRedirect(t *testing.T) {
	res, cfg := extended(t)
	r := findRoute(t, cfg, "httproute_infra_redirect_0")
	if rd := r.Redirect; rd == nil || rd.ReplacePrefixMatch != "/replacement-prefix" || rd.Path != "" || rd.Status != 302 || r.Backend != nil {
		t.Errorf("prefix redirect: %+v", r.Redirect)
	}
	if rd := findRoute(t, cfg, "httproute_infra_redirect_1").Redirect; rd.Host != "example.org" || rd.Path != "/full-path-replacement" || rd.Status != 301 {
		t.Errorf("full path redirect: %+v", rd)
	}
	if rd := findRoute(t, cfg, "httproute_infra_redirect_2").Redirect; rd.Scheme != "https" || rd.Port != 8443 || rd.Status != 308 {
		t.Errorf("scheme redirect: %+v", rd)
	}
	if rd := findRoute(t, cfg, "httproute_infra_redirect_3").Redirect; rd.ReplacePrefixMatch != "/" {
		t.Errorf("empty prefix replacement: %+v", rd)
	}
	if e := errorFor(res, "redirect rule 4"); !strings.Contains(e, "ReplacePrefixMatch needs PathPrefix matches") {
		t.Errorf("exact match with ReplacePrefixMatch: error %q; all: %v", e, res.Errors)
	}
	wantCond(t, res, "HTTPRoute", "infra", "redirect", "", "PartiallyInvalid", "True", "UnsupportedValue")
	// Status only: a redirect to the same URL (conformance
	// HTTPRoute303Redirect), which config accepts with a warning.
	if rd := findRoute(t, cfg, "httproute_infra_see-other_0").Redirect; rd == nil || rd.Status != 303 {
		t.Errorf("303 to the same URL: %+v", rd)
	}
}

// TestRewrite: URLRewrite hostname and both path modifiers.
func TestRewrite(t *testing.T) {
	_, cfg := extended(t)
	r := findRoute(t, cfg, "httproute_infra_rewrite_0")
	if u := r.Filters[0].URLRewrite; u.Hostname != "one.example.org" || u.Path.ReplacePrefixMatch != "/one" || r.Matches[0].Path.Prefix != "/prefix/one" {
		t.Errorf("rewrite 0: %+v %+v", u, u.Path)
	}
	if u := findRoute(t, cfg, "httproute_infra_rewrite_1").Filters[0].URLRewrite; u.Path.ReplacePrefixMatch != "/" {
		t.Errorf("rewrite 1: %+v", u.Path)
	}
	if u := findRoute(t, cfg, "httproute_infra_rewrite_2").Filters[0].URLRewrite; u.Path.ReplaceFullPath != "/one" {
		t.Errorf("rewrite 2: %+v", u.Path)
	}
}

// TestResilience: timeouts.request is the route timeout ("0s" none),
// timeouts.backendRequest the per-try timeout (1 attempt without retry),
// retry attempts are retries (+1 try, capped at 10), codes join the
// connection conditions, backoff is the minimum wait; a backendRequest
// longer than request drops the rule.
func TestResilience(t *testing.T) {
	res, cfg := extended(t)
	route := func(i int) *config.Route { return findRoute(t, cfg, "httproute_infra_resilience_"+strconv.Itoa(i)) }
	if r := route(0); r.Timeout != 500*time.Millisecond || r.Retry != nil {
		t.Errorf("request timeout: %v retry %+v", r.Timeout, r.Retry)
	}
	if r := route(1); r.Timeout < 50*365*24*time.Hour {
		t.Errorf(`request "0s": timeout %v, want none (the longest value)`, r.Timeout)
	}
	if r := route(2); r.Timeout != 60*time.Second || r.Retry == nil || r.Retry.Attempts != 1 || r.Retry.PerTryTimeout != 500*time.Millisecond {
		t.Errorf("backendRequest: timeout %v retry %+v", r.Timeout, r.Retry)
	}
	r := route(3)
	if rt := r.Retry; rt == nil || rt.Attempts != 4 || !slices.Equal(rt.On, []string{"connect-failure", "reset", "timeout", "500", "429"}) ||
		rt.BackoffMin != 100*time.Millisecond || !rt.SameTarget || rt.PerTryTimeout != time.Second || r.Timeout != 10*time.Second {
		t.Errorf("retry: %+v timeout %v", r.Retry, r.Timeout)
	}
	if rt := route(4).Retry; rt == nil || rt.Attempts != 2 || !slices.Equal(rt.On, []string{"connect-failure", "reset", "timeout"}) {
		t.Errorf("retry without attempts: %+v", rt)
	}
	if rt := route(5).Retry; rt.Attempts != 10 {
		t.Errorf("retry attempts 20: %d tries, want config's cap 10", rt.Attempts)
	}
	if e := errorFor(res, "resilience rule 6"); !strings.Contains(e, "backendRequest must not be longer") {
		t.Errorf("backendRequest > request: %q", e)
	}
	if r := route(7); r.Retry != nil {
		t.Errorf(`backendRequest "0s": retry %+v, want Gatehouse's default`, r.Retry)
	}
}

// TestBackendProtocol: appProtocol kubernetes.io/h2c makes the upstream
// speak HTTP/2 with prior knowledge over http://, kubernetes.io/ws stays
// HTTP/1.1, an unknown appProtocol is UnsupportedProtocol (the rule then
// answers 500), and backends of one rule with different protocols drop
// the rule.
func TestBackendProtocol(t *testing.T) {
	res, cfg := extended(t)
	if u := findUpstream(t, cfg, "httproute_infra_protocols_0"); u.Protocol != "http2" || u.Targets[0].URL != "http://grpc-ish.infra.svc:8081" {
		t.Errorf("h2c upstream: protocol %q targets %+v", u.Protocol, u.Targets[0])
	}
	if u := findUpstream(t, cfg, "httproute_infra_protocols_1"); u.Protocol != "auto" {
		t.Errorf("ws upstream: protocol %q, want auto (HTTP/1.1 over http://)", u.Protocol)
	}
	if r := findRoute(t, cfg, "httproute_infra_protocols_2"); r.Respond == nil || r.Respond.Status != 500 {
		t.Errorf("unknown appProtocol: %+v", r)
	}
	wantCond(t, res, "HTTPRoute", "infra", "protocols", "", "ResolvedRefs", "False", "UnsupportedProtocol")
	for _, l := range cfg.Listeners {
		if l.Protocol == "http" && !l.H2C {
			t.Errorf("listener %s carries an h2c backend's route but does not accept h2c", l.Name)
		}
	}
	if p, ok := upstreamProtocol("HTTPS"); !ok || p != "" {
		t.Errorf("appProtocol HTTPS (BackendTLSPolicy's targets): %q %v, want auto", p, ok)
	}
	if e := errorFor(res, "protocols rule 3"); !strings.Contains(e, "share a protocol") {
		t.Errorf("mixed protocols: %q", e)
	}
}

// TestNamedRules: a rule's name replaces its index in route and upstream
// names; a name of digits only keeps the index in front, so rule "1" at
// index 2 cannot take the unnamed rule 1's names.
func TestNamedRules(t *testing.T) {
	_, cfg := extended(t)
	if r := findRoute(t, cfg, "httproute_infra_named_named-rule"); r.Backend.Upstream != "httproute_infra_named_named-rule" {
		t.Errorf("named rule: %+v", r.Backend)
	}
	if r := findRoute(t, cfg, "httproute_infra_named_1"); r.Matches[0].Path.Prefix != "/unnamed" {
		t.Errorf("unnamed rule 1: %+v", r.Matches[0].Path)
	}
	if r := findRoute(t, cfg, "httproute_infra_named_2.1"); r.Matches[0].Path.Prefix != "/digits" {
		t.Errorf("rule named 1: %+v", r.Matches[0].Path)
	}
}

// TestBackendRefFilters: in a weighted split each backendRef's
// RequestHeaderModifier becomes request_headers on its targets; a single
// backendRef's filters follow the rule's; an endpoint shared by refs with
// different filters, and a URLRewrite on one backend of several, drop
// the rule.
func TestBackendRefFilters(t *testing.T) {
	res, cfg := extended(t)
	u := findUpstream(t, cfg, "httproute_infra_backend-filters_0")
	got := map[string]string{}
	for _, tg := range u.Targets {
		if tg.RequestHeaders != nil {
			got[tg.URL] = tg.RequestHeaders.Set["Backend"]
		}
	}
	if want := map[string]string{"http://echo.infra.svc:8080": "echo", "http://echo-v2.infra.svc:8080": "echo-v2"}; !maps.Equal(got, want) {
		t.Errorf("split target headers %v, want %v", got, want)
	}
	r := findRoute(t, cfg, "httproute_infra_backend-filters_1")
	if len(r.Filters) != 3 || r.Filters[0].RequestHeaders.Add["X-Rule"] != "1" ||
		r.Filters[1].RequestHeaders.Set["X-Header-Set"] != "set-overwrites-values" || r.Filters[2].ResponseHeaders.Remove[0] != "Server" {
		t.Errorf("single backendRef filters: %+v", r.Filters)
	}
	if e := errorFor(res, "backend-filters rule 2"); !strings.Contains(e, "endpoint shared") {
		t.Errorf("shared endpoint: %q", e)
	}
	if e := errorFor(res, "backend-filters rule 3"); !strings.Contains(e, "URLRewrite is not supported on one backend of several") {
		t.Errorf("split rewrite: %q", e)
	}
}
