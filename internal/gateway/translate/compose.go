package translate

import (
	"net/http"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// ComposeEnv is what a composing route needs beyond its configuration.
type ComposeEnv struct {
	// Send returns the handler that calls the named upstream.
	Send func(upstream string) http.Handler
	// Dispatch serves route-relative steps: the listener's live entry.
	Dispatch http.Handler
	// Metrics counts steps; nil counts nothing.
	Metrics *observe.Metrics
}

// Compose translates a route's compose section. Templates were compiled
// once by validation, so errors here cannot happen for a validated
// configuration; a step whose template fails anyway is left without it.
func Compose(rc *config.Route, env ComposeEnv) *compose.Compose {
	cc := rc.Compose
	c := compose.Config{Route: rc.Name, Timeout: rc.Timeout, MaxBodyBytes: cc.MaxBodyBytes}
	switch cc.Merge {
	case "merge":
		c.Strategy = compose.Merge
	case "append":
		c.Strategy = compose.Append
	}
	if env.Metrics != nil {
		c.OnCollision = env.Metrics.ComposeCollisions(rc.Name).Inc
	}
	const scope = expr.ScopeRequest | expr.ScopeSteps
	for _, s := range cc.Steps {
		st := compose.Step{
			Name: s.Name, Method: s.Method, ForwardHeaders: s.ForwardHeaders, Timeout: s.Timeout, Needs: s.Needs,
			Concurrency: s.Concurrency, MaxItems: s.MaxItems, Default: s.Default, Key: s.Group, Shape: composeShape(s),
		}
		src := s.URL
		if s.Path != "" {
			st.Internal, st.Send, src = true, env.Dispatch, s.Path
		} else if env.Send != nil {
			st.Send = env.Send(s.Upstream)
		}
		if src != "" {
			st.URL, _ = expr.CompileTemplate(src, scope)
		}
		names := make([]string, 0, len(s.Headers))
		for k := range s.Headers {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if t, err := expr.CompileTemplate(s.Headers[k], scope); err == nil {
				st.Headers = append(st.Headers, compose.Header{Name: k, Value: t})
			}
		}
		if s.Body != nil {
			st.Body, _, _ = compose.CompileBody(s.Body, scope)
		}
		if s.ForEach != "" {
			st.ForEach, _ = expr.Lookup(s.ForEach, scope)
		}
		switch s.OnError {
		case "omit":
			st.OnError = compose.Omit
		case "default":
			st.OnError = compose.UseDefault
		}
		if s.When != "" {
			st.When = stepWhen(s.When)
		}
		if env.Metrics != nil {
			labels := make([]string, len(compose.Results))
			for i, r := range compose.Results {
				labels[i] = r.String()
			}
			obs := env.Metrics.ComposeStep(rc.Name, s.Name, labels)
			st.Observe = func(r compose.Result, d time.Duration) { obs(int(r), d) }
		}
		if st.Send == nil {
			st.Send = http.NotFoundHandler()
		}
		c.Steps = append(c.Steps, st)
	}
	return compose.New(c)
}

// stepWhen compiles a step's condition, which may read earlier results.
// Validation compiled it; a failure here skips the step.
func stepWhen(src string) func(*expr.Vars) bool {
	c, err := expr.CompileCondition(src, expr.ScopeRequest|expr.ScopeSteps)
	if err != nil {
		return func(*expr.Vars) bool { return false }
	}
	return c.Eval
}
