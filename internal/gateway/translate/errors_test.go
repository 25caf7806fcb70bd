package translate

import (
	"errors"
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
