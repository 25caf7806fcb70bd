package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix prefixes every Redis key when NewRedis is given "".
const DefaultRedisPrefix = "gatehouse:"

// Key layout under the prefix: the caller's key plus a suffix naming what
// it holds, so that a counter, a value and the two kinds of rate-limit
// state of one key never collide (the suffixes differ in their last
// byte), and DeletePrefix finds them all with one pattern.
const (
	suffixGCRA    = ":g" // string: TAT in Unix µs
	suffixSliding = ":w" // hash: window index, its count, previous count
	suffixCounter = ":q" // string: integer counter
	suffixValue   = ":v" // string: opaque value
)

// scanBatch is the SCAN COUNT hint and so the most keys DeletePrefix
// unlinks per pipeline.
const scanBatch = 500

// Redis is the Store shared by many gateway instances. Redis is the
// source of truth: nothing is cached locally. Every decision is one
// Lua script run (EVALSHA, falling back to EVAL once after a server
// restart), atomic on the server. With WithPipelining concurrent
// decisions share round trips (see redis_batch.go).
type Redis struct {
	c      redis.UniversalClient
	prefix string
	closed atomic.Bool
	batch  *batcher // nil without pipelining
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store on c, prefixing every key with prefix
// (DefaultRedisPrefix when ""). The caller owns c: Close does not close
// it.
//
// Build c with ContextTimeoutEnabled: true. Without it go-redis ignores
// context deadlines for socket reads and a server that stops answering
// blocks each call for ReadTimeout (3s by default) whatever deadline the
// caller set.
//
// Pass WithPipelining to auto-pipeline AllowN and Consume; it is off by
// default. Under concurrency it halves the cost of a decision (one
// round trip's syscalls shared by a batch), but a lone request pays a
// handoff to a flusher goroutine and back (~10µs more in
// BenchmarkRedisAllowNParallel/*/Serial), so it is not better in every
// case. Flushers run only while there are calls, so a store dropped
// without Close leaks no goroutine either way.
func NewRedis(c redis.UniversalClient, prefix string, opts ...RedisOption) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	var cfg redisConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	r := &Redis{c: c, prefix: prefix}
	if cfg.pipeline {
		r.batch = newBatcher(c, cfg.maxBatch, cfg.maxDelay)
	}
	return r
}

// run runs a decision script on key, through the pipeline when there is
// one. Errors wrap ErrUnavailable.
func (r *Redis) run(ctx context.Context, s *redis.Script, key string, a1, a2, a3 int64) ([]int64, error) {
	if r.batch != nil {
		return r.batch.run(ctx, s, key, a1, a2, a3)
	}
	res, err := s.Run(ctx, r.c, []string{key}, a1, a2, a3).Int64Slice()
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	return res, nil
}

// unavailable wraps a Redis error in ErrUnavailable, keeping the context
// error visible: go-redis reports a passed deadline as an i/o timeout.
func unavailable(ctx context.Context, err error) error {
	cerr := ctx.Err()
	if cerr == nil {
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			cerr = context.DeadlineExceeded
		}
	}
	if cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: redis: %w (%w)", ErrUnavailable, err, cerr)
	}
	return fmt.Errorf("%w: redis: %w", ErrUnavailable, err)
}

func (r *Redis) check() error {
	if r.closed.Load() {
		return errClosed
	}
	return nil
}

// AllowN implements Store in one round trip.
func (r *Redis) AllowN(ctx context.Context, key string, l Limit, n int64) (RateResult, error) {
	if err := checkLimit(l, n); err != nil {
		return RateResult{}, err
	}
	if err := r.check(); err != nil {
		return RateResult{}, err
	}
	if l.Algorithm == GCRA {
		t := int64(emission(l) / tick)
		res, err := r.run(ctx, gcraScript, r.prefix+key+suffixGCRA, t, l.Burst, n)
		if err != nil {
			return RateResult{}, err
		}
		if len(res) != 3 {
			return RateResult{}, fmt.Errorf("%w: redis: GCRA script returned %d values", ErrUnavailable, len(res))
		}
		return gcraResult(res[0] == 1, res[2], res[1], t, l.Burst, n, tick), nil
	}
	period := int64(l.Period / tick)
	res, err := r.run(ctx, slidingScript, r.prefix+key+suffixSliding, period, l.Rate, n)
	if err != nil {
		return RateResult{}, err
	}
	if len(res) != 4 {
		return RateResult{}, fmt.Errorf("%w: redis: sliding window script returned %d values", ErrUnavailable, len(res))
	}
	return slidingResult(res[0] == 1, l.Rate, n, res[1], res[2], res[3], period, tick), nil
}

// Consume implements Store in one round trip. A zero expireAt never
// expires; one in the past deletes the counter at once.
func (r *Redis) Consume(ctx context.Context, key string, n, max int64, expireAt time.Time) (QuotaResult, error) {
	if err := checkQuota(n, max); err != nil {
		return QuotaResult{}, err
	}
	if err := r.check(); err != nil {
		return QuotaResult{}, err
	}
	var exp int64
	if !expireAt.IsZero() {
		exp = expireAt.UnixMilli()
		if exp < 1 {
			exp = 1 // before 1970: long expired, not "never"
		}
	}
	res, err := r.run(ctx, consumeScript, r.prefix+key+suffixCounter, n, max, exp)
	if err != nil {
		return QuotaResult{}, err
	}
	if len(res) != 2 {
		return QuotaResult{}, fmt.Errorf("%w: redis: consume script returned %d values", ErrUnavailable, len(res))
	}
	return QuotaResult{Allowed: res[0] == 1, Used: res[1]}, nil
}

// Counter implements Store.
func (r *Redis) Counter(ctx context.Context, key string) (int64, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	s, err := r.c.Get(ctx, r.prefix+key+suffixCounter).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, unavailable(ctx, err)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: counter %q holds %q, not a number", key, s)
	}
	return v, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := r.check(); err != nil {
		return nil, false, err
	}
	b, err := r.c.Get(ctx, r.prefix+key+suffixValue).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable(ctx, err)
	}
	return b, true, nil
}

// Set implements Store. A ttl ≤ 0 keeps the value until deleted (or
// evicted by the server's maxmemory policy); Redis expiry has
// millisecond resolution, so a shorter ttl is rounded up to 1ms.
func (r *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := r.check(); err != nil {
		return err
	}
	switch {
	case ttl <= 0:
		ttl = 0 // go-redis: 0 is no expiry, negative would be KEEPTTL
	case ttl < time.Millisecond:
		ttl = time.Millisecond
	}
	if err := r.c.Set(ctx, r.prefix+key+suffixValue, val, ttl).Err(); err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

// Delete implements Store: it deletes values (not counters or rate-limit
// state; DeletePrefix does). Keys are unlinked one per command in one
// pipeline, which Cluster splits by slot.
// DeleteCounter implements Store: one UNLINK of the counter's key.
func (r *Redis) DeleteCounter(ctx context.Context, key string) error {
	if err := r.check(); err != nil {
		return err
	}
	if _, err := unlink(ctx, r.c, []string{r.prefix + key + suffixCounter}); err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if err := r.check(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k + suffixValue
	}
	if _, err := unlink(ctx, r.c, full); err != nil {
		return unavailable(ctx, err)
	}
	return nil
}

// unlink deletes keys, one UNLINK each (Cluster refuses multi-key
// commands across slots) in one pipeline, and counts the deleted.
func unlink(ctx context.Context, c redis.Cmdable, keys []string) (int, error) {
	cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cmd := range cmds {
		if ic, ok := cmd.(*redis.IntCmd); ok {
			n += int(ic.Val())
		}
	}
	return n, nil
}

// DeletePrefix implements Store with SCAN MATCH and UNLINK in batches,
// on every master of a Cluster (or shard of a Ring). Glob characters in
// prefix match literally. It counts Redis keys: a value, a counter and
// each algorithm's rate-limit state of one key count separately. Keys
// written while it runs may survive.
func (r *Redis) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	full := r.prefix + prefix
	pattern := escapeGlob(full) + "*"
	var total atomic.Int64
	scan := func(ctx context.Context, c *redis.Client) error {
		n, err := scanUnlink(ctx, c, pattern, full)
		total.Add(int64(n))
		return err
	}
	var err error
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, scan)
	case *redis.Ring:
		err = c.ForEachShard(ctx, scan)
	default:
		var n int
		n, err = scanUnlink(ctx, r.c, pattern, full)
		total.Add(int64(n))
	}
	if err != nil {
		return int(total.Load()), unavailable(ctx, err)
	}
	return int(total.Load()), nil
}

// scanUnlink deletes the keys of one node matching pattern whose
// caller's key starts with full (see ownedByPrefix).
func scanUnlink(ctx context.Context, c redis.Cmdable, pattern, full string) (int, error) {
	var cursor uint64
	total := 0
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, scanBatch).Result()
		if err != nil {
			return total, err
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return !ownedByPrefix(k, full) })
		if len(keys) > 0 {
			n, err := unlink(ctx, c, keys)
			total += n
			if err != nil {
				return total, err
			}
		}
		if next == 0 {
			return total, nil
		}
		cursor = next
	}
}

// ownedByPrefix reports whether Redis key k, which starts with full
// (the store's prefix plus DeletePrefix's), holds state of a caller's
// key that starts with the prefix. The glob alone is not enough: the
// suffix makes key "a" (Redis key "<p>a:v") match the pattern of prefix
// "a:", as Memory does not. Keys without a suffix of ours were not
// written by a Store and stay matched by the glob alone.
func ownedByPrefix(k, full string) bool {
	for _, s := range [...]string{suffixGCRA, suffixSliding, suffixCounter, suffixValue} {
		if strings.HasSuffix(k, s) {
			return strings.HasPrefix(k[:len(k)-len(s)], full)
		}
	}
	return true
}

// escapeGlob escapes the characters Redis's glob matching treats
// specially, so a prefix matches itself only.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Close implements Store. It does not close the client, which the caller
// owns; later calls fail with an error wrapping ErrUnavailable, and so
// do pipelined calls still waiting. It waits for pipelines in flight,
// whose I/O is bounded (pipelineIOCap).
func (r *Redis) Close() error {
	r.closed.Store(true)
	if r.batch != nil {
		r.batch.close()
	}
	return nil
}
