// Package plans selects, per request, the policy of the caller's billing
// plan: a route's rate limit or quota may differ by the consumer's plan
// (plans: in the configuration), with the route's own as the default for
// anonymous callers and consumers without a plan.
//
// The selection needs the identity, so a plan-aware policy must run
// after authentication (the gateway's policy order guarantees it).
package plans

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Scope names the counters a plan's limits and quota share across every
// route that uses the plan.
func Scope(plan string) string { return "plan-" + plan }

// Wrapper is a policy that wraps a handler (a rate limiter, a quota).
type Wrapper interface {
	Wrap(http.Handler) http.Handler
}

// Select applies the policy of the consumer's plan when byPlan has one,
// else def (nil: none).
func Select(def Wrapper, byPlan map[string]Wrapper) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		defH := next
		if def != nil {
			defH = def.Wrap(next)
		}
		if len(byPlan) == 0 {
			return defH
		}
		planH := make(map[string]http.Handler, len(byPlan))
		for name, w := range byPlan {
			planH[name] = w.Wrap(next)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if info := reqinfo.FromContext(r.Context()); info != nil && info.Identity != nil && info.Identity.Consumer != nil {
				if h, ok := planH[info.Identity.Consumer.Plan]; ok {
					h.ServeHTTP(w, r)
					return
				}
			}
			defH.ServeHTTP(w, r)
		})
	}
}
