package gateway

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestCheckNamesThePolicyLine: a policy the config package accepts but
// its constructor refuses is reported at the policy's own line.
func TestCheckNamesThePolicyLine(t *testing.T) {
	src := "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nroutes:\n  - name: r\n    respond: {}\n    policies:\n" +
		"      rate_limit: {limit: 1, window: 1s}\n      waf: {directives: \"SecRuleEngine Nonsense\"}\n"
	cfg, err := config.Parse("gw.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = Check(cfg)
	if err == nil || !strings.HasPrefix(err.Error(), `gw.yaml:7: route "r": waf: `) || strings.Contains(err.Error(), "waf: waf:") {
		t.Fatalf("Check: %v", err)
	}
}
