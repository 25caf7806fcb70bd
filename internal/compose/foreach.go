package compose

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/expr"
)

// forEach makes one call per element of the step's array, at most
// Concurrency at a time, and collects the results in element order. The
// first failure cancels the calls still running and fails the step.
func (x *run) forEach(s *Step, vars *expr.Vars) (any, error) {
	items, ok := s.ForEach(vars).([]any)
	if !ok {
		return nil, stepErr("for_each is not an array")
	}
	maxItems := s.MaxItems
	if maxItems <= 0 {
		maxItems = DefaultMaxItems
	}
	if len(items) > maxItems {
		return nil, stepErr("for_each has %d items, more than max_items %d", len(items), maxItems)
	}
	out := make([]any, len(items))
	if len(items) == 0 {
		return out, nil
	}
	workers := s.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	workers = min(workers, MaxConcurrency, len(items))
	ctx, cancel := context.WithCancel(x.ctx)
	defer cancel()
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				v := *vars
				v.Item = items[i]
				r, err := x.call(ctx, s, &v)
				if err != nil {
					errOnce.Do(func() {
						firstErr = stepErr("item %d: %v", i, err)
						cancel()
					})
					return
				}
				out[i] = r
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := x.ctx.Err(); err != nil {
		return nil, stepErr("cancelled")
	}
	return out, nil
}
