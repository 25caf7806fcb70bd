package gatewayapi

import (
	"slices"
	"testing"

	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

// TestProfileSelection pins the suite's test sets per profile: a new
// suite version that changes them must be looked at (expected failures,
// README counts).
func TestProfileSelection(t *testing.T) {
	want := map[suite.ConformanceProfileName][2]int{ // core, extended (suite v1.6.3)
		suite.GatewayHTTPConformanceProfileName: {36, 58},
		suite.GatewayGRPCConformanceProfileName: {14, 11},
	}
	for _, p := range profiles {
		var got [2]int
		for _, test := range tests.ConformanceTests {
			if in, ext := inProfile(p, test); in && ext {
				got[1]++
			} else if in {
				got[0]++
			}
		}
		t.Logf("%s: %d core, %d extended tests", p.Name, got[0], got[1])
		if got != want[p.Name] {
			t.Errorf("%s has %d core and %d extended tests, want %v", p.Name, got[0], got[1], want[p.Name])
		}
	}
	for name := range expectedFailures {
		if !slices.ContainsFunc(tests.ConformanceTests, func(test suite.ConformanceTest) bool {
			return test.ShortName == name && slices.ContainsFunc(profiles, func(p suite.ConformanceProfile) bool {
				in, _ := inProfile(p, test)
				return in
			})
		}) {
			t.Errorf("expectedFailures names %s, which is in none of the profiles run", name)
		}
	}
}
