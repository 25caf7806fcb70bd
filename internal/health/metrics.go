package health

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the health collectors, shared by every upstream's Registry.
// A nil *Metrics is valid and records nothing.
type Metrics struct {
	healthy     *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	ejections   *prometheus.CounterVec
	overflow    *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg (nil: not
// registered). A collector already registered under the same name — a
// second gateway in one test process, say — is reused rather than treated
// as an error; any other registration conflict is returned.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_upstream_target_healthy",
			Help: "1 when health checking and outlier detection keep the target in rotation, 0 when either takes it out.",
		}, []string{"upstream", "target"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_target_health_transitions_total",
			Help: "Times a target went out of (to=down) or back into (to=up) rotation because of health.",
		}, []string{"upstream", "target", "to"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_outlier_ejections_total",
			Help: "Outlier ejections of a target after consecutive failed requests.",
		}, []string{"upstream", "target"}),
		overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_outlier_ejections_overflow_total",
			Help: "Ejections skipped because the upstream already had its maximum share of targets ejected.",
		}, []string{"upstream"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.healthy, err = register(reg, m.healthy); err != nil {
		return nil, err
	}
	if m.transitions, err = register(reg, m.transitions); err != nil {
		return nil, err
	}
	if m.ejections, err = register(reg, m.ejections); err != nil {
		return nil, err
	}
	if m.overflow, err = register(reg, m.overflow); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the equal collector already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

func (m *Metrics) setHealthy(upstream, target string, inRotation bool) {
	if m == nil {
		return
	}
	v := 0.0
	if inRotation {
		v = 1
	}
	m.healthy.WithLabelValues(upstream, target).Set(v)
}

func (m *Metrics) transition(upstream, target string, inRotation bool) {
	if m == nil {
		return
	}
	to := "down"
	if inRotation {
		to = "up"
	}
	m.transitions.WithLabelValues(upstream, target, to).Inc()
}

func (m *Metrics) ejected(upstream, target string) {
	if m == nil {
		return
	}
	m.ejections.WithLabelValues(upstream, target).Inc()
}

func (m *Metrics) ejectionOverflow(upstream string) {
	if m == nil {
		return
	}
	m.overflow.WithLabelValues(upstream).Inc()
}

// forget drops a removed target's series so that target churn (autoscaled
// or Kubernetes endpoints) does not grow the scrape without bound.
func (m *Metrics) forget(upstream, target string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"upstream": upstream, "target": target}
	m.healthy.Delete(labels)
	m.transitions.DeletePartialMatch(labels)
	m.ejections.Delete(labels)
}
