package health

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// TestNewMetricsTwice: a second gateway in the same process (tests, or a
// registry shared by mistake) reuses the collectors instead of failing.
func TestNewMetricsTwice(t *testing.T) {
	preg := prometheus.NewRegistry()
	m1, err := NewMetrics(preg)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := NewMetrics(preg)
	if err != nil {
		t.Fatalf("second NewMetrics: %v", err)
	}
	m2.setHealthy("u", "t", true)
	if v, ok := metricValue(t, preg, "gatehouse_upstream_target_healthy", map[string]string{"upstream": "u", "target": "t"}); !ok || v != 1 {
		t.Fatal("the second Metrics does not write to the registered collectors")
	}
	_ = m1
	if _, err := NewMetrics(nil); err != nil {
		t.Fatalf("unregistered metrics: %v", err)
	}
}

// TestMetricsForgetRemovedTargets: series of a removed target disappear,
// so endpoint churn does not grow the scrape forever.
func TestMetricsForgetRemovedTargets(t *testing.T) {
	reg, preg, _ := testRegistry(t)
	reg.clock = newFakeClock()
	o, err := NewOutlier(reg, OutlierConfig{ConsecutiveFailures: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	a, b := newTarget(t, "http://10.0.0.1:80"), newTarget(t, "http://10.0.0.2:80")
	o.Update([]*balancer.Target{a, b})
	fail(o, a, 1)
	la := map[string]string{"upstream": "users", "target": a.Addr}
	if _, ok := metricValue(t, preg, "gatehouse_upstream_outlier_ejections_total", la); !ok {
		t.Fatal("setup: no ejection series")
	}
	o.Update([]*balancer.Target{b})
	for _, name := range []string{"gatehouse_upstream_target_healthy", "gatehouse_upstream_outlier_ejections_total"} {
		if _, ok := metricValue(t, preg, name, la); ok {
			t.Errorf("%s still has a series for the removed target", name)
		}
	}
	if _, ok := metricValue(t, preg, "gatehouse_upstream_target_healthy", map[string]string{"upstream": "users", "target": b.Addr}); !ok {
		t.Error("kept target lost its series")
	}
}
