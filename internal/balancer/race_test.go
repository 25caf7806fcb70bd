//go:build race

package balancer

// raceEnabled reports a -race build, where sync.Pool drops items on
// purpose and allocation counts of pooled paths are not meaningful.
const raceEnabled = true
