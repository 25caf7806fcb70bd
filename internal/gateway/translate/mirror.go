package translate

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/mirror"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// FilterEnv is what a route's filters may use beyond the route.
type FilterEnv struct {
	// Send returns the handler that sends a request to the named upstream
	// (validated to exist): the mirror copies' way out. nil disables
	// request_mirror filters.
	Send func(upstream string) http.Handler
	// Metrics counts mirrored requests; nil counts nothing.
	Metrics *observe.Metrics
}

// Mirror compiles a route's request_mirror filters into one mirror (nil
// when there are none, or env cannot send). A copy is bounded by the
// route's timeout (mirror.DefaultTimeout when the route has none); the
// in-flight and body bounds are the mirror package's defaults.
func Mirror(rc *config.Route, ms []*config.RequestMirror, env FilterEnv) *mirror.Mirror {
	if len(ms) == 0 || env.Send == nil {
		return nil
	}
	c := mirror.Config{Timeout: rc.Timeout}
	for _, m := range ms {
		t := mirror.Target{Send: env.Send(m.Upstream), Percent: m.Percent}
		if env.Metrics != nil {
			ctr := env.Metrics.Mirror(rc.Name, m.Upstream)
			t.Count = func(r mirror.Result) {
				switch r {
				case mirror.Sent:
					ctr.Sent.Inc()
				case mirror.Dropped:
					ctr.Dropped.Inc()
				default:
					ctr.Error.Inc()
				}
			}
		}
		c.Targets = append(c.Targets, t)
	}
	return mirror.New(c)
}
