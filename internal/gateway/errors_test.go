package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

func TestPolicyErr(t *testing.T) {
	for _, c := range [][3]string{
		{"jwt", "jwt: no provider", "jwt: no provider"},
		{"ip_filter", "ipfilter: bad prefix", "ip_filter: bad prefix"},
		{"basic_auth", "bad hash", "basic_auth: bad hash"},
	} {
		if got := policyErr(config.Pos{}, c[0], errors.New(c[1])).Error(); got != c[2] {
			t.Errorf("policyErr(%q, %q) = %q", c[0], c[1], got)
		}
	}
}

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
