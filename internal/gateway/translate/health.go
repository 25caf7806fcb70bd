package translate

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/health"
)

// HealthKey fingerprints a health check's settings: a reload that keeps
// them keeps the running checker.
func HealthKey(hc *config.HealthCheck) string {
	if hc == nil {
		return ""
	}
	c := *hc
	c.Pos = config.Pos{}
	return fmt.Sprintf("%+v", c)
}

// OutlierKey fingerprints outlier detection's settings.
func OutlierKey(o *config.OutlierDetection) string {
	if o == nil {
		return ""
	}
	c := *o
	c.Pos = config.Pos{}
	return fmt.Sprintf("%+v", c)
}

// Outlier translates outlier detection.
func Outlier(o *config.OutlierDetection) health.OutlierConfig {
	return health.OutlierConfig{
		ConsecutiveFailures: o.ConsecutiveFailures, BaseEjection: o.BaseEjection,
		MaxEjection: o.MaxEjection, MaxEjectedPercent: o.MaxEjectedPercent,
	}
}
