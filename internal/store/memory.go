package store

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MemoryOptions configures NewMemory. The zero value is a working,
// non-persistent store.
type MemoryOptions struct {
	// PersistPath is a bbolt file that keeps quota counters (Consume)
	// across restarts; "" keeps them in memory only. Rate-limit state
	// and values are never persisted: they are short-lived by nature.
	PersistPath string
	// FlushInterval is how often changed counters are written to
	// PersistPath (default 1s). A crash loses at most this much
	// counting; Close writes everything, so a graceful stop loses
	// nothing.
	FlushInterval time.Duration
	// MaxValueBytes bounds the total size of Get/Set values, keys and
	// bookkeeping included (default 64 MiB). Setting a value beyond the
	// bound evicts other values, arbitrary ones first found.
	MaxValueBytes int64
	// Now is the clock (default time.Now); tests inject a fake one.
	Now func() time.Time
}

const (
	defaultFlushInterval = time.Second
	defaultMaxValueBytes = 64 << 20
	// sweepInterval is how often the janitor drops expired rate-limit
	// state, counters and values. Expired entries are already treated
	// as absent when read; sweeping only bounds memory.
	sweepInterval = 10 * time.Second
	// numShards spreads rate-limit and counter keys over independent
	// locks so that cores rarely contend.
	numShards = 64
	// openTimeout bounds waiting for the bbolt file lock, held by
	// another process using the same PersistPath.
	openTimeout = 5 * time.Second
)

// errClosed is returned by calls on a closed store.
var errClosed = fmt.Errorf("%w: store closed", ErrUnavailable)

// Memory is the single-process Store. Rate-limit decisions and counters
// live in sharded maps; values in one size-bounded map. Memory never
// blocks on I/O, so it ignores contexts.
//
// Durability: with MemoryOptions.PersistPath set, quota counters (and
// only they) are written to a bbolt file every FlushInterval, only those
// changed since the last write, and once more by Close; NewMemory loads
// them back, dropping expired ones. A crash or kill therefore loses at
// most the last FlushInterval of counting; a graceful stop (Close) loses
// nothing, except calls still racing with Close itself.
type Memory struct {
	shards [numShards]shard
	seed   maphash.Seed
	values values

	now      func() time.Time
	base     time.Time // now() at open
	baseUnix int64     // base in Unix ns

	db      *bolt.DB // nil without persistence
	flushMu sync.Mutex

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	done      chan struct{}
}

// shard holds the keys that hash to it.
type shard struct {
	mu       sync.Mutex
	rates    map[rateKey]*rateState
	counters map[string]counter
	// dirty lists counters changed (or removed) since the last flush.
	dirty map[string]struct{}
	_     [64]byte // keep neighbouring shards' locks off one cache line
}

var _ Store = (*Memory)(nil)

// NewMemory opens a Memory store, loading persisted counters (dropping
// expired ones) when opts.PersistPath is set. Close it to stop its
// janitor goroutine and persist its counters.
func NewMemory(opts MemoryOptions) (*Memory, error) {
	if opts.FlushInterval < 0 {
		return nil, fmt.Errorf("store: negative flush interval %v", opts.FlushInterval)
	}
	if opts.MaxValueBytes < 0 {
		return nil, fmt.Errorf("store: negative max value bytes %d", opts.MaxValueBytes)
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = defaultFlushInterval
	}
	if opts.MaxValueBytes == 0 {
		opts.MaxValueBytes = defaultMaxValueBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Memory{
		seed: maphash.MakeSeed(),
		now:  opts.Now,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	m.base = m.now()
	m.baseUnix = m.base.UnixNano()
	m.values.init(opts.MaxValueBytes)
	for i := range m.shards {
		sh := &m.shards[i]
		sh.rates = make(map[rateKey]*rateState)
		sh.counters = make(map[string]counter)
		sh.dirty = make(map[string]struct{})
	}
	if opts.PersistPath != "" {
		db, err := bolt.Open(opts.PersistPath, 0o600, &bolt.Options{Timeout: openTimeout})
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", opts.PersistPath, err)
		}
		m.db = db
		if err := m.load(); err != nil {
			return nil, errors.Join(fmt.Errorf("store: load %s: %w", opts.PersistPath, err), db.Close())
		}
	}
	go m.run(opts.FlushInterval)
	return m, nil
}

// nanotime is the store's clock in Unix nanoseconds: wall time at open
// plus the monotonic time since, so a wall clock step does not reset
// or freeze rate limits.
func (m *Memory) nanotime() int64 {
	return m.baseUnix + int64(m.now().Sub(m.base))
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)%numShards]
}

// run is the janitor: it flushes counters and sweeps expired state until
// Close.
func (m *Memory) run(flushEvery time.Duration) {
	defer close(m.done)
	var flushC <-chan time.Time
	if m.db != nil {
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		flushC = t.C
	}
	sweep := time.NewTicker(sweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-flushC:
			// A failed flush keeps its counters dirty; the next one
			// (at the latest the one in Close) retries them.
			_ = m.Flush()
		case <-sweep.C:
			m.sweep()
		}
	}
}

// sweep drops expired rate-limit state, counters and values.
func (m *Memory) sweep() {
	now := m.nanotime()
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, st := range sh.rates {
			if st.expires <= now {
				delete(sh.rates, k)
			}
		}
		for k, c := range sh.counters {
			if c.expired(now) {
				delete(sh.counters, k)
				sh.dirty[k] = struct{}{}
			}
		}
		sh.mu.Unlock()
	}
	m.values.sweep(now)
}

// Close stops the janitor and persists the counters. Calls after Close
// fail with an error wrapping ErrUnavailable. Closing twice returns the
// first result.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		close(m.stop)
		<-m.done
		if m.db != nil {
			m.closeErr = errors.Join(m.flush(), m.db.Close())
		}
	})
	return m.closeErr
}
