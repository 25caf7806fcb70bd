package controller

import (
	"context"
	"time"
)

// settle waits after a first event until no further event arrived for
// quiet, or until maxDelay passed since the first one: a burst (kubectl
// apply of a directory, EndpointSlice churn in a rolling update) becomes
// one rebuild, and a steady stream still rebuilds at least every maxDelay.
// It reports false when ctx ended first.
func settle(ctx context.Context, events <-chan struct{}, quiet, maxDelay time.Duration) bool {
	q := time.NewTimer(quiet)
	defer q.Stop()
	deadline := time.NewTimer(maxDelay)
	defer deadline.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-events:
			q.Reset(quiet)
		case <-q.C:
			return true
		case <-deadline.C:
			return true
		}
	}
}
