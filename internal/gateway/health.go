package gateway

import (
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/health"
)

// upstreamHealth is an upstream's active checker and outlier detector.
// The registry, which holds each target's verdicts, lives as long as the
// pool, so a reload that keeps a target keeps its health.
type upstreamHealth struct {
	reg        *health.Registry
	checker    *health.Checker
	checkKey   string
	outlier    *health.Outlier
	outlierKey string
	// reporting is the outlier detector the proxy reports to; read on
	// every attempt, swapped on reload.
	reporting atomic.Pointer[health.Outlier]
}

// report feeds one attempt's outcome to outlier detection, if enabled.
func (h *upstreamHealth) report(t *balancer.Target, failed bool) {
	if o := h.reporting.Load(); o != nil {
		o.Report(t, failed)
	}
}

// updateHealth brings an upstream's checker and detector in line with u
// and its current targets. A changed check config starts a new checker on
// the same registry before the old one stops, so a down target stays down.
func (g *Gateway) updateHealth(cur *upstream, u *config.Upstream, targets []*balancer.Target) error {
	h := &cur.health
	if h.reg == nil {
		h.reg = health.NewRegistry(u.Name, g.log, g.healthMetrics)
	}
	if k := translate.HealthKey(u.HealthCheck); k != h.checkKey {
		old := h.checker
		h.checker, h.checkKey = nil, ""
		if u.HealthCheck != nil {
			tlsConf, err := translate.UpstreamTLS(u)
			if err != nil {
				return err
			}
			c, err := health.NewChecker(h.reg, translate.HealthCheck(u.HealthCheck, tlsConf))
			if err != nil {
				return err
			}
			h.checker, h.checkKey = c, k
		}
		if h.checker != nil {
			h.checker.Update(targets)
		}
		old.Stop()
	} else if h.checker != nil {
		h.checker.Update(targets)
	}
	if k := translate.OutlierKey(u.OutlierDetection); k != h.outlierKey {
		old := h.outlier
		h.outlier, h.outlierKey = nil, ""
		if o := u.OutlierDetection; o != nil {
			out, err := health.NewOutlier(h.reg, translate.Outlier(o))
			if err != nil {
				return err
			}
			h.outlier, h.outlierKey = out, k
		}
		if h.outlier != nil {
			h.outlier.Update(targets)
		}
		h.reporting.Store(h.outlier)
		old.Stop()
	} else if h.outlier != nil {
		h.outlier.Update(targets)
	}
	return nil
}

// stop ends the upstream's background checks.
func (h *upstreamHealth) stop() {
	h.checker.Stop()
	h.outlier.Stop()
}
