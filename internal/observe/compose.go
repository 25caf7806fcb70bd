package observe

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// composeCollectors are the compose action's: step outcomes and call
// durations, by route and step.
type composeCollectors struct {
	steps      *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	collisions *prometheus.CounterVec
}

func newComposeCollectors() *composeCollectors {
	return &composeCollectors{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_compose_steps_total",
			Help: "Composition steps, by route, step and result (ok, error: failed the request, omitted, default: failed and replaced by its default, skipped: its when was false or the request had already failed).",
		}, []string{"route", "step", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_compose_step_duration_seconds",
			Help:    "Time from a composition step's start (its needs done) to its result, by route and step.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "step"}),
		collisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_compose_merge_collisions_total",
			Help: "Keys written by two step results under merge: merge (the later step in configuration order wins), by route.",
		}, []string{"route"}),
	}
}

func (c *composeCollectors) collectors() []prometheus.Collector {
	return []prometheus.Collector{c.steps, c.duration, c.collisions}
}

// ComposeStep returns the observer of one step of route's composition:
// result is ok, error, omitted, default or skipped. Children are resolved
// once, so observing costs two atomic adds.
func (m *Metrics) ComposeStep(route, step string, results []string) func(result int, d time.Duration) {
	ctr := make([]prometheus.Counter, len(results))
	for i, r := range results {
		ctr[i] = m.compose.steps.WithLabelValues(route, step, r)
	}
	h := m.compose.duration.WithLabelValues(route, step)
	return func(result int, d time.Duration) {
		if result >= 0 && result < len(ctr) {
			ctr[result].Inc()
		}
		h.Observe(d.Seconds())
	}
}

// ComposeCollisions counts route's merge collisions.
func (m *Metrics) ComposeCollisions(route string) prometheus.Counter {
	return m.compose.collisions.WithLabelValues(route)
}
