package kubernetes

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"

	"golang.org/x/net/http/httpguts"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Offline manifests never met the API server, so the CRD schema and CEL
// rules that would have rejected a bad value did not run. The checks here
// re-impose the part of them that Gatehouse's own validation depends on:
// a value that fails them drops its rule (or object) with a message,
// instead of producing configuration that config.Parse refuses as a whole.

// validHost reports whether h is a DNS name or "*." wildcard Gatehouse
// accepts as a match host or SNI (config's checkMatchHost).
func validHost(h string) bool {
	name := strings.TrimPrefix(strings.ToLower(h), "*.")
	return !strings.Contains(name, "*") && config.ValidHostname(name)
}

func validHosts(hs []gwv1.Hostname) error {
	for _, h := range hs {
		if !validHost(string(h)) {
			return fmt.Errorf("invalid hostname %q", h)
		}
	}
	return nil
}

var redirectCodes = []int{301, 302, 303, 307, 308}

// checkMatch checks one HTTPRouteMatch.
func checkMatch(m gwv1.HTTPRouteMatch) error {
	if m.Path != nil && m.Path.Value != nil {
		v := *m.Path.Value
		if m.Path.Type != nil && *m.Path.Type == gwv1.PathMatchRegularExpression {
			if _, err := regexp.Compile(v); err != nil {
				return fmt.Errorf("path regex %q does not compile (RE2): %v", v, err)
			}
		} else if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("path %q must start with /", v)
		}
	}
	for _, h := range m.Headers {
		if !httpguts.ValidHeaderFieldName(string(h.Name)) {
			return fmt.Errorf("invalid header name %q", h.Name)
		}
		if err := checkValue(h.Value, h.Type != nil && *h.Type == gwv1.HeaderMatchRegularExpression); err != nil {
			return err
		}
	}
	for _, q := range m.QueryParams {
		if q.Name == "" {
			return fmt.Errorf("query parameter match without name")
		}
		if err := checkValue(q.Value, q.Type != nil && *q.Type == gwv1.QueryParamMatchRegularExpression); err != nil {
			return err
		}
	}
	if m.Method != nil && !httpguts.ValidHeaderFieldName(string(*m.Method)) {
		return fmt.Errorf("invalid method %q", *m.Method)
	}
	return nil
}

func checkValue(v string, regex bool) error {
	if regex {
		if v == "" {
			return fmt.Errorf("empty regular expression")
		}
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("regex %q does not compile (RE2): %v", v, err)
		}
	}
	return nil
}

// checkHeaderFilter checks a header modifier's names and values.
func checkHeaderFilter(h *gwv1.HTTPHeaderFilter) error {
	if h == nil {
		return fmt.Errorf("header modifier filter without its settings")
	}
	for _, hv := range slices.Concat(h.Set, h.Add) {
		if !httpguts.ValidHeaderFieldName(string(hv.Name)) {
			return fmt.Errorf("invalid header name %q", hv.Name)
		}
		if !httpguts.ValidHeaderFieldValue(hv.Value) {
			return fmt.Errorf("header %q has an invalid value", hv.Name)
		}
	}
	for _, n := range h.Remove {
		if !httpguts.ValidHeaderFieldName(n) {
			return fmt.Errorf("invalid header name %q", n)
		}
	}
	return nil
}

// checkPathModifier checks a ReplaceFullPath / ReplacePrefixMatch value;
// ReplacePrefixMatch needs every match of the rule to be a path prefix.
func checkPathModifier(p *gwv1.HTTPPathModifier, matches []gwv1.HTTPRouteMatch) error {
	var v *string
	switch p.Type {
	case gwv1.FullPathHTTPPathModifier:
		v = p.ReplaceFullPath
	case gwv1.PrefixMatchHTTPPathModifier:
		v = p.ReplacePrefixMatch
		for _, m := range matches {
			if m.Path != nil && m.Path.Type != nil && *m.Path.Type != gwv1.PathMatchPathPrefix {
				return fmt.Errorf("ReplacePrefixMatch needs PathPrefix matches")
			}
		}
	default:
		return fmt.Errorf("unknown path modifier type %q", p.Type)
	}
	switch {
	case v == nil:
		return fmt.Errorf("path modifier %s needs a value", p.Type)
	case *v == "" && p.Type == gwv1.PrefixMatchHTTPPathModifier:
		// The API's table: an empty replacement is the same as "/".
	case !strings.HasPrefix(*v, "/"):
		return fmt.Errorf("path modifier %s needs a value starting with /", p.Type)
	}
	return nil
}

// checkFilter checks one rule filter Gatehouse supports.
func checkFilter(f gwv1.HTTPRouteFilter, matches []gwv1.HTTPRouteMatch) error {
	switch f.Type {
	case gwv1.HTTPRouteFilterRequestHeaderModifier:
		return checkHeaderFilter(f.RequestHeaderModifier)
	case gwv1.HTTPRouteFilterResponseHeaderModifier:
		return checkHeaderFilter(f.ResponseHeaderModifier)
	case gwv1.HTTPRouteFilterURLRewrite:
		u := f.URLRewrite
		if u == nil || (u.Hostname == nil && u.Path == nil) {
			return fmt.Errorf("URLRewrite changes nothing")
		}
		if u.Hostname != nil && (!validHost(string(*u.Hostname)) || strings.HasPrefix(string(*u.Hostname), "*")) {
			return fmt.Errorf("invalid URLRewrite hostname %q", *u.Hostname)
		}
		if u.Path != nil {
			return checkPathModifier(u.Path, matches)
		}
	case gwv1.HTTPRouteFilterCORS:
		return checkCORS(f.CORS)
	case gwv1.HTTPRouteFilterRequestMirror:
		return checkMirror(f.RequestMirror)
	case gwv1.HTTPRouteFilterRequestRedirect:
		r := f.RequestRedirect
		// A redirect to the request's own URL is valid (conformance sends
		// 303, 307 and 308 so); config warns of it.
		if r == nil {
			return fmt.Errorf("RequestRedirect filter without its settings")
		}
		if r.Scheme != nil && *r.Scheme != "http" && *r.Scheme != "https" {
			return fmt.Errorf("invalid redirect scheme %q", *r.Scheme)
		}
		if r.Hostname != nil && (!validHost(string(*r.Hostname)) || strings.HasPrefix(string(*r.Hostname), "*")) {
			return fmt.Errorf("invalid redirect hostname %q", *r.Hostname)
		}
		if r.Port != nil && (*r.Port < 1 || *r.Port > 65535) {
			return fmt.Errorf("redirect port %d is out of range", *r.Port)
		}
		if r.StatusCode != nil && !slices.Contains(redirectCodes, *r.StatusCode) {
			return fmt.Errorf("redirect status %d is not a redirect", *r.StatusCode)
		}
		if r.Path != nil {
			return checkPathModifier(r.Path, matches)
		}
	}
	return nil
}
