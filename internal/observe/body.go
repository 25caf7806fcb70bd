package observe

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

func newBodyTransforms() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_body_transforms_total",
		Help: "Bodies seen by a request_body or response_body filter, by route, direction (request or response) and result (transformed; skipped_type, skipped_encoding, skipped_status, skipped_size, skipped_condition: passed through; too_large: 413; invalid: 400; error: the transform failed).",
	}, []string{"route", "direction", "result"})
}

// BodyTransforms returns the counting function of one body filter of
// route; direction is "request" or "response". A result's label child is
// resolved on its first use and kept, so later counts skip the vector's
// hashing and locking; results are a small fixed set of the filter's.
func (m *Metrics) BodyTransforms(route, direction string) func(result string) {
	vec := m.bodyTransforms
	var children sync.Map // result → prometheus.Counter
	return func(result string) {
		c, ok := children.Load(result)
		if !ok {
			c, _ = children.LoadOrStore(result, vec.WithLabelValues(route, direction, result))
		}
		c.(prometheus.Counter).Inc()
	}
}
