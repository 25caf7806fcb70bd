//go:build race

package e2e

// raceEnabled reports that this test binary was built with -race; the
// harness then builds the gateway with -race too (see TestMain).
const raceEnabled = true
