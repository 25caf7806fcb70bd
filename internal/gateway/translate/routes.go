package translate

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/action"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/filter"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// Filters compiles a route's filters, in configuration order (the first
// outermost), into one layer. request_mirror filters are the exception:
// they form the innermost layer, around the action, so each copy is the
// request as the upstream gets it (after every request filter, as Envoy's
// shadowing does).
func Filters(rc *config.Route, env FilterEnv) func(http.Handler) http.Handler {
	prefixes := routePrefixes(rc)
	fs := make([]func(http.Handler) http.Handler, 0, len(rc.Filters))
	var mirrors []*config.RequestMirror
	var condMirrors []layer
	for _, f := range rc.Filters {
		if f.RequestMirror != nil {
			if f.When == "" {
				mirrors = append(mirrors, f.RequestMirror)
			} else if m := Mirror(rc, []*config.RequestMirror{f.RequestMirror}, env); m != nil {
				condMirrors = append(condMirrors, filter.When(requestWhen(f.When), m.Wrap))
			}
			continue
		}
		fs = append(fs, conditional(f, routeFilter(f, prefixes, rc.Name, env)))
	}
	if m := Mirror(rc, mirrors, env); m != nil {
		fs = append(fs, m.Wrap)
	}
	fs = append(fs, condMirrors...)
	return func(h http.Handler) http.Handler {
		for i := len(fs) - 1; i >= 0; i-- {
			h = fs[i](h)
		}
		return h
	}
}

// Action is a route's direct action (respond, redirect), or nil for a
// route that proxies to a backend.
func Action(rc *config.Route) http.Handler {
	switch {
	case rc.Respond != nil:
		return action.NewRespond(action.RespondConfig{Status: rc.Respond.Status, Headers: rc.Respond.Headers, Body: rc.Respond.Body})
	case rc.Redirect != nil:
		rd := rc.Redirect
		return action.NewRedirect(action.RedirectConfig{
			Scheme: rd.Scheme, Host: rd.Host, Path: rd.Path, Port: rd.Port, Status: rd.Status,
			PrefixEdit: rd.ReplacePrefixMatch != "", PrefixTo: rd.ReplacePrefixMatch, Prefixes: routePrefixes(rc),
		})
	}
	return nil
}

// routeFilter compiles one filter of a route.
func routeFilter(f *config.Filter, prefixes []string, route string, env FilterEnv) layer {
	switch {
	case f.RequestHeaders != nil:
		return filter.RequestHeaders(headersConfig(f.RequestHeaders))
	case f.ResponseHeaders != nil:
		c := headersConfig(f.ResponseHeaders)
		c.When = responseWhen(f.When)
		return filter.ResponseHeaders(c)
	case f.Query != nil:
		return filter.Query(filter.QueryConfig{Set: f.Query.Set, Add: f.Query.Add, Remove: f.Query.Remove})
	case f.URLRewrite != nil:
		c := filter.URLRewriteConfig{Hostname: f.URLRewrite.Hostname, Prefixes: prefixes}
		if p := f.URLRewrite.Path; p != nil {
			c.PathEdit, c.FullPath, c.PrefixTo = true, p.ReplaceFullPath, p.ReplacePrefixMatch
		}
		return filter.URLRewrite(c)
	case f.RequestBody != nil:
		return BodyTransform(f.RequestBody, route, "request", nil, env)
	case f.ResponseBody != nil:
		return BodyTransform(f.ResponseBody, route, "response", responseWhen(f.When), env)
	case f.Deprecation != nil:
		return filter.Deprecation(Deprecation(f.Deprecation))
	}
	return func(h http.Handler) http.Handler { return h }
}

func headersConfig(c *config.HeaderFilter) filter.HeadersConfig {
	return filter.HeadersConfig{Set: c.Set, Add: c.Add, Remove: c.Remove}
}

// routePrefixes are the route's prefix matches, which a URL rewrite's
// ReplacePrefixMatch replaces; a route without matches matches every path.
func routePrefixes(rc *config.Route) []string {
	matches := rc.Matches
	if rc.Match != nil {
		matches = []*config.Match{rc.Match}
	}
	if len(matches) == 0 {
		return []string{"/"}
	}
	var prefixes []string
	for _, m := range matches {
		if m.Path != nil && m.Path.Prefix != "" {
			prefixes = append(prefixes, m.Path.Prefix)
		}
	}
	return prefixes
}

// Retry translates a route's retry policy; budget is its upstream's.
func Retry(rt *config.Retry, budget *proxy.Budget) *proxy.RetryPolicy {
	return &proxy.RetryPolicy{
		Attempts: rt.Attempts, On: rt.On, RetryNonIdempotent: rt.RetryNonIdempotent,
		PerTryTimeout: rt.PerTryTimeout, BackoffBase: rt.BackoffBase, BackoffMax: rt.BackoffMax,
		BackoffMin: rt.BackoffMin, SameTarget: rt.SameTarget, BufferBytes: rt.BufferBytes, Budget: budget,
	}
}
