package gatewayapi

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance/tests"
)

// TestProfileSelection pins the suite's GATEWAY-HTTP test set: a new
// suite version that changes it must be looked at (expected failures,
// README counts).
func TestProfileSelection(t *testing.T) {
	core, extended := 0, 0
	for _, test := range tests.ConformanceTests {
		in, ext := inProfile(test)
		switch {
		case in && ext:
			extended++
		case in:
			core++
		}
	}
	t.Logf("GATEWAY-HTTP: %d core, %d extended tests", core, extended)
	if core != 36 {
		t.Errorf("GATEWAY-HTTP has %d core tests, want 36 (suite v1.6.3)", core)
	}
	for name := range expectedFailures {
		found := false
		for _, test := range tests.ConformanceTests {
			if in, _ := inProfile(test); in && test.ShortName == name {
				found = true
			}
		}
		if !found {
			t.Errorf("expectedFailures names %s, which is not a GATEWAY-HTTP test", name)
		}
	}
}
