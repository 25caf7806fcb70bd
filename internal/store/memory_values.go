package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// valueOverhead approximates the bookkeeping bytes of one value (map
// slot, slice and string headers), so that many tiny values cannot
// exceed MaxValueBytes in real memory by much.
const valueOverhead = 64

// values is the size-bounded value map.
type values struct {
	mu    sync.RWMutex
	m     map[string]valueEntry
	bytes int64 // sum of size() over m
	max   int64
}

type valueEntry struct {
	b   []byte
	exp int64 // Unix ns; 0 never expires
}

func (v *values) init(max int64) {
	v.m = make(map[string]valueEntry)
	v.max = max
}

func valueSize(key string, b []byte) int64 {
	return int64(len(key)+len(b)) + valueOverhead
}

// Get implements Store. The returned slice is shared with the store and
// must not be modified.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	if m.closed.Load() {
		return nil, false, errClosed
	}
	now := m.nanotime()
	m.values.mu.RLock()
	e, ok := m.values.m[key]
	m.values.mu.RUnlock()
	if !ok || (e.exp != 0 && e.exp <= now) {
		return nil, false, nil
	}
	return e.b, true, nil
}

// Set implements Store: it keeps a copy of val for ttl (ttl ≤ 0: until
// evicted or deleted). When the values would exceed MaxValueBytes it
// evicts others, expired or not; a single value larger than the bound is
// refused with an error.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if m.closed.Load() {
		return errClosed
	}
	v := &m.values
	size := valueSize(key, val)
	if size > v.max {
		return fmt.Errorf("%w: value of %d bytes exceeds MaxValueBytes %d", ErrInvalidArgument, len(val), v.max)
	}
	e := valueEntry{b: append([]byte(nil), val...)}
	if ttl > 0 {
		e.exp = m.nanotime() + int64(ttl)
	}
	key = strings.Clone(key)
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.m[key]; ok {
		v.bytes -= valueSize(key, old.b)
		delete(v.m, key)
	}
	if v.bytes+size > v.max {
		// Map iteration starts at a random point: random eviction,
		// no bookkeeping on the read path.
		for k, old := range v.m {
			delete(v.m, k)
			v.bytes -= valueSize(k, old.b)
			if v.bytes+size <= v.max {
				break
			}
		}
	}
	v.m[key] = e
	v.bytes += size
	return nil
}

// Delete implements Store: it deletes values (not counters or rate-limit
// state; DeletePrefix does).
func (m *Memory) Delete(_ context.Context, keys ...string) error {
	if m.closed.Load() {
		return errClosed
	}
	v := &m.values
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, k := range keys {
		if old, ok := v.m[k]; ok {
			delete(v.m, k)
			v.bytes -= valueSize(k, old.b)
		}
	}
	return nil
}

// DeletePrefix implements Store. It counts values, counters and
// rate-limit states (per algorithm) deleted; expired entries not yet
// swept are deleted but not counted.
func (m *Memory) DeletePrefix(_ context.Context, prefix string) (int, error) {
	if m.closed.Load() {
		return 0, errClosed
	}
	now := m.nanotime()
	deleted := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, st := range sh.rates {
			if strings.HasPrefix(k.key, prefix) {
				delete(sh.rates, k)
				if st.expires > now {
					deleted++
				}
			}
		}
		for k, c := range sh.counters {
			if strings.HasPrefix(k, prefix) {
				delete(sh.counters, k)
				sh.dirty[k] = struct{}{}
				if !c.expired(now) {
					deleted++
				}
			}
		}
		sh.mu.Unlock()
	}
	v := &m.values
	v.mu.Lock()
	for k, e := range v.m {
		if strings.HasPrefix(k, prefix) {
			delete(v.m, k)
			v.bytes -= valueSize(k, e.b)
			if e.exp == 0 || e.exp > now {
				deleted++
			}
		}
	}
	v.mu.Unlock()
	return deleted, nil
}

// sweep drops expired values.
func (v *values) sweep(now int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, e := range v.m {
		if e.exp != 0 && e.exp <= now {
			delete(v.m, k)
			v.bytes -= valueSize(k, e.b)
		}
	}
}
