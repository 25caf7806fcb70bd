//go:build race

package router

// raceEnabled: under -race, sync.Pool drops a random share of Puts on purpose,
// so code that reuses pooled buffers (regexp machines, query decode buffers)
// allocates now and then; allocation tests skip those cases.
const raceEnabled = true
