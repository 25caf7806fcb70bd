package store

import (
	"context"
	"strings"
)

// rateKey keeps GCRA and sliding window state for one key apart, as the
// Redis layout does, so changing a route's algorithm starts afresh.
type rateKey struct {
	key  string
	algo Algorithm
}

// rateState is one key's rate-limit state.
type rateState struct {
	tat int64 // GCRA theoretical arrival time, Unix ns
	// Sliding window: the current window's index (start / period) and
	// the counts of it and the one before.
	win, cur, prev int64
	// expires is when the state is equivalent to none (a full bucket,
	// an empty window); the janitor drops it then.
	expires int64
}

// AllowN implements Store. It does not allocate for a key it has seen.
func (m *Memory) AllowN(_ context.Context, key string, l Limit, n int64) (RateResult, error) {
	if err := checkLimit(l, n); err != nil {
		return RateResult{}, err
	}
	if m.closed.Load() {
		return RateResult{}, errClosed
	}
	now := m.nanotime()
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rk := rateKey{key, l.Algorithm}
	st := sh.rates[rk]
	var scratch rateState
	if st == nil {
		st = &scratch // an absent key behaves like zero state
	}
	var r RateResult
	if l.Algorithm == GCRA {
		r = gcraAllow(st, now, l, n)
	} else {
		r = slidingAllow(st, now, l, n)
	}
	if st == &scratch && r.Allowed && n > 0 {
		// Clone: the caller may have built key in a reused buffer.
		rk.key = strings.Clone(key)
		kept := scratch // scratch itself stays on the stack
		sh.rates[rk] = &kept
	}
	return r, nil
}

// gcraAllow decides and, when allowed, updates st. Times are Unix ns.
func gcraAllow(st *rateState, now int64, l Limit, n int64) RateResult {
	t := int64(emission(l))
	tat := max(st.tat, now)
	allowed := false
	if n <= l.Burst {
		newTat := tat + n*t
		if newTat-t*l.Burst <= now {
			allowed = true
			tat = newTat
			if n > 0 {
				st.tat, st.expires = tat, tat
			}
		}
	}
	return gcraResult(allowed, now, tat, t, l.Burst, n, 1)
}

// slidingAllow decides and, when allowed, updates st. Times are Unix ns;
// windows start at multiples of the period, as on Redis.
func slidingAllow(st *rateState, now int64, l Limit, n int64) RateResult {
	period := int64(l.Period)
	win := now / period
	var cur, prev int64
	switch {
	case st.win >= win:
		// Same window (or a later one: the clock cannot go back, but
		// be safe and keep counting in it).
		win, cur, prev = st.win, st.cur, st.prev
	case st.win == win-1:
		prev = st.cur
	}
	elapsed := max(now-win*period, 0)
	allowed := slidingEstimate(prev, cur, elapsed, period)+float64(n) <= float64(l.Rate)
	if allowed && n > 0 {
		cur += n
		st.win, st.cur, st.prev = win, cur, prev
		st.expires = (win + 2) * period
	}
	return slidingResult(allowed, l.Rate, n, prev, cur, elapsed, period, 1)
}
