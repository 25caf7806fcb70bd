package health

import (
	"strings"
	"testing"
	"time"
)

func TestCheckConfigDefaults(t *testing.T) {
	c, err := CheckConfig{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Type != CheckHTTP || c.Path != "/" || c.Method != "GET" || c.Interval != 5*time.Second ||
		c.Timeout != time.Second || c.Jitter != 0.1 || c.HealthyThreshold != 2 || c.UnhealthyThreshold != 3 ||
		len(c.ExpectStatus) != 1 || c.ExpectStatus[0] != [2]int{200, 399} {
		t.Fatalf("defaults = %+v", c)
	}
	if c, _ := (CheckConfig{Jitter: -1}).withDefaults(); c.Jitter != 0 {
		t.Fatalf("negative jitter should disable jitter, got %v", c.Jitter)
	}
	if c, _ := (CheckConfig{Type: "GRPC"}).withDefaults(); c.Type != CheckGRPC {
		t.Fatalf("type is case-insensitive, got %q", c.Type)
	}
}

func TestCheckConfigValidate(t *testing.T) {
	bad := map[string]CheckConfig{
		"not supported":     {Type: "icmp"},
		"must start with /": {Path: "healthz"},
		"valid HTTP method": {Method: "GET /"},
		"100–599":           {ExpectStatus: [][2]int{{399, 200}}},
		"negative":          {Interval: -time.Second},
		"at most 1":         {Jitter: 1.5},
		"thresholds":        {HealthyThreshold: -1},
	}
	for want, cfg := range bad {
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err = %v, want it to mention %q", cfg, err, want)
		}
		reg, _, _ := testRegistry(t)
		if _, err := NewChecker(reg, cfg); err == nil {
			t.Errorf("NewChecker accepted %+v", cfg)
		}
	}
	if err := (CheckConfig{Type: "tcp", Path: "/x?y=1", ExpectStatus: [][2]int{{200, 200}, {301, 302}}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestOutlierConfig(t *testing.T) {
	c, err := OutlierConfig{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.ConsecutiveFailures != 5 || c.BaseEjection != 30*time.Second || c.MaxEjection != 300*time.Second || c.MaxEjectedPercent != 50 {
		t.Fatalf("defaults = %+v", c)
	}
	// A base above the default maximum raises the maximum with it rather
	// than failing a config that only set the base.
	if c, err := (OutlierConfig{BaseEjection: 10 * time.Minute}).withDefaults(); err != nil || c.MaxEjection != 10*time.Minute {
		t.Fatalf("base 10m: %+v, %v", c, err)
	}
	bad := map[string]OutlierConfig{
		"0–100":        {MaxEjectedPercent: 101},
		"negative":     {BaseEjection: -1},
		"shorter than": {BaseEjection: time.Minute, MaxEjection: time.Second},
	}
	for want, cfg := range bad {
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: err = %v, want it to mention %q", cfg, err, want)
		}
	}
}
