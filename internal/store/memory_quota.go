package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// counter is one quota counter.
type counter struct {
	n   int64
	exp int64 // Unix ns; 0 never expires
}

func (c counter) expired(now int64) bool { return c.exp != 0 && c.exp <= now }

// counterBucket is the bbolt bucket of persisted counters: key → 16
// bytes, the count and the expiry (Unix ns), big-endian.
var counterBucket = []byte("counters.v1")

// Consume implements Store. The counter is persisted at the next flush
// (see MemoryOptions.FlushInterval). A zero expireAt never expires.
func (m *Memory) Consume(_ context.Context, key string, n, max int64, expireAt time.Time) (QuotaResult, error) {
	if err := checkQuota(n, max); err != nil {
		return QuotaResult{}, err
	}
	if m.closed.Load() {
		return QuotaResult{}, errClosed
	}
	now := m.nanotime()
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c, ok := sh.counters[key]
	if ok && c.expired(now) {
		c, ok = counter{}, false
	}
	if c.n > max-n { // c.n+n > max without overflow
		return QuotaResult{Allowed: false, Used: c.n}, nil
	}
	if n == 0 {
		return QuotaResult{Allowed: true, Used: c.n}, nil
	}
	if !ok {
		key = strings.Clone(key)
		c = counter{exp: unixNano(expireAt)}
	}
	c.n += n
	sh.counters[key] = c
	sh.dirty[key] = struct{}{}
	return QuotaResult{Allowed: true, Used: c.n}, nil
}

// DeleteCounter implements Store; the deletion is persisted at the next
// flush, like a change.
func (m *Memory) DeleteCounter(_ context.Context, key string) error {
	if m.closed.Load() {
		return errClosed
	}
	sh := m.shard(key)
	sh.mu.Lock()
	if _, ok := sh.counters[key]; ok {
		delete(sh.counters, key)
		sh.dirty[key] = struct{}{}
	}
	sh.mu.Unlock()
	return nil
}

// checkQuota validates Consume's arguments.
func checkQuota(n, max int64) error {
	if n < 0 || max < 0 || n > maxCount || max > maxCount {
		return fmt.Errorf("%w: cost %d, max %d, want both between 0 and 2^53", ErrInvalidArgument, n, max)
	}
	return nil
}

// unixNano is t in Unix ns, 0 for the zero time; a time before 1970
// maps to 1 (long expired) so that it is not mistaken for "never".
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// Counter implements Store.
func (m *Memory) Counter(_ context.Context, key string) (int64, error) {
	if m.closed.Load() {
		return 0, errClosed
	}
	now := m.nanotime()
	sh := m.shard(key)
	sh.mu.Lock()
	c, ok := sh.counters[key]
	sh.mu.Unlock()
	if !ok || c.expired(now) {
		return 0, nil
	}
	return c.n, nil
}

// Flush writes the counters changed since the last flush to the
// persistence file now; the janitor calls it every FlushInterval and
// Close calls it last. It does nothing without persistence. On error the
// counters stay marked and the next flush retries them.
func (m *Memory) Flush() error {
	if m.closed.Load() {
		return errClosed
	}
	return m.flush()
}

type flushRec struct {
	key string
	c   counter
	del bool
}

func (m *Memory) flush() error {
	if m.db == nil {
		return nil
	}
	// One flush at a time, so an older snapshot never overwrites a
	// newer one.
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	now := m.nanotime()
	var recs []flushRec
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		if len(sh.dirty) > 0 {
			for k := range sh.dirty {
				c, ok := sh.counters[k]
				recs = append(recs, flushRec{key: k, c: c, del: !ok || c.expired(now)})
			}
			sh.dirty = make(map[string]struct{})
		}
		sh.mu.Unlock()
	}
	if len(recs) == 0 {
		return nil
	}
	err := m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(counterBucket)
		var buf [16]byte
		for _, r := range recs {
			if r.del {
				if err := b.Delete([]byte(r.key)); err != nil {
					return err
				}
				continue
			}
			binary.BigEndian.PutUint64(buf[:8], uint64(r.c.n))
			binary.BigEndian.PutUint64(buf[8:], uint64(r.c.exp))
			// bbolt keeps the value slice until commit: copy.
			if err := b.Put([]byte(r.key), append([]byte(nil), buf[:]...)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range recs {
			sh := m.shard(r.key)
			sh.mu.Lock()
			sh.dirty[r.key] = struct{}{}
			sh.mu.Unlock()
		}
		return fmt.Errorf("store: persist counters: %w", err)
	}
	return nil
}

// load reads the persisted counters, deleting expired and malformed
// records from the file.
func (m *Memory) load() error {
	now := m.nanotime()
	return m.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(counterBucket)
		if err != nil {
			return err
		}
		var stale [][]byte
		err = b.ForEach(func(k, v []byte) error {
			if len(v) != 16 {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			c := counter{n: int64(binary.BigEndian.Uint64(v[:8])), exp: int64(binary.BigEndian.Uint64(v[8:]))}
			if c.expired(now) || c.n < 0 {
				stale = append(stale, append([]byte(nil), k...))
				return nil
			}
			key := string(k)
			m.shard(key).counters[key] = c
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
