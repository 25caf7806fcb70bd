package gatewayapi

// expectedFailures are the GATEWAY-HTTP tests Gatehouse does not pass
// yet, each with a one-line cause (translator gap, run-time gap or
// harness gap). They are skipped with that reason in a normal run, so the
// package stays green in CI and a regression in anything else fails it;
// GATEHOUSE_CONFORMANCE_ALL=1 runs them as well and reports XPASS for
// those that now pass (remove them from this list).
var expectedFailures = map[string]string{}
