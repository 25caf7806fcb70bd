package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// The tests in this file run the Redis store against a 3-master Redis
// Cluster, with the client built as the gateway builds it
// (gateway.redisClient): redis.NewUniversalClient with several Addrs,
// which makes a ClusterClient, and ContextTimeoutEnabled.

// spreadKeys returns n keys "<base><i>" whose Redis keys (under the
// default prefix, with suffix) land on every master of c, so a test on
// them covers every node.
func spreadKeys(t *testing.T, c *redis.ClusterClient, base, suffix string, n int) []string {
	t.Helper()
	keys := make([]string, n)
	nodes := map[string]bool{}
	for i := range keys {
		keys[i] = base + strconv.Itoa(i)
		node, err := c.MasterForKey(t.Context(), DefaultRedisPrefix+keys[i]+suffix)
		if err != nil {
			t.Fatal(err)
		}
		nodes[node.Options().Addr] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("keys %s0..%d land on %d masters, want 3: pick more keys", base, n-1, len(nodes))
	}
	return keys
}

// clusterStores returns three stores (three gateway instances), each
// with its own client on cluster.
func clusterStores(t *testing.T, cluster *redistest.Cluster, opt RedisOption) ([]*Redis, *redis.ClusterClient) {
	t.Helper()
	var stores []*Redis
	var first *redis.ClusterClient
	for i := range 3 {
		c := cluster.Client(t)
		if i == 0 {
			first = c
		}
		s := NewRedis(c, "", opt)
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	return stores, first
}

// TestRedisClusterStore runs the Cluster checks in both modes (with and
// without pipelining), each on its own cluster so they start empty.
func TestRedisClusterStore(t *testing.T) {
	t.Parallel()
	for _, m := range redisModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			cluster := redistest.StartCluster(t, 3)
			stores, c := clusterStores(t, cluster, m.opt)
			// Sequential: DeletePrefix and the key census must not see
			// the other subtests' keys change under them.
			t.Run("SharedLimits", func(t *testing.T) { testClusterSharedLimits(t, stores, c) })
			t.Run("ConsumeExact", func(t *testing.T) { testClusterConsume(t, stores, c) })
			t.Run("Values", func(t *testing.T) { testClusterValues(t, stores, c) })
			t.Run("DeletePrefix", func(t *testing.T) { testClusterDeletePrefix(t, stores, c) })
		})
	}
}

// clusterWindow is the sliding window the cluster's clock is in and how
// long it has left. The nodes share the host's clock.
func clusterWindow(t *testing.T, c *redis.ClusterClient, period time.Duration) (int64, time.Duration) {
	t.Helper()
	now, err := c.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	ns := now.UnixNano()
	win := ns / int64(period)
	return win, time.Duration((win+1)*int64(period) - ns)
}

// testClusterSharedLimits: 3 instances, 30 goroutines, 6 keys on all
// masters, each key with its own limit: exactly each limit is admitted.
func testClusterSharedLimits(t *testing.T, stores []*Redis, c *redis.ClusterClient) {
	for _, alg := range []struct {
		name   string
		suffix string
		limit  func(rate int64) Limit
	}{
		{"SlidingWindow", suffixSliding, func(rate int64) Limit {
			// An hour: the run (seconds on a loaded machine) fits in it.
			return Limit{Algorithm: SlidingWindow, Rate: rate, Period: time.Hour}
		}},
		// Period one hour: no refill during the run.
		{"GCRA", suffixGCRA, func(rate int64) Limit {
			return Limit{Algorithm: GCRA, Rate: rate, Period: time.Hour, Burst: rate}
		}},
	} {
		t.Run(alg.name, func(t *testing.T) {
			keys := spreadKeys(t, c, "lim:"+alg.name+":", alg.suffix, 6)
			limits := make([]Limit, len(keys))
			for i := range keys {
				limits[i] = alg.limit(int64(10 + 7*i)) // 10, 17, … 45: each key its own count
			}
			period := limits[0].Period
			win, left := clusterWindow(t, c, period)
			if alg.suffix == suffixSliding && left < time.Minute {
				time.Sleep(left + 10*time.Millisecond) // let the window roll over first
				win, _ = clusterWindow(t, c, period)
			}
			allowed := make([]atomic.Int64, len(keys))
			var refused atomic.Int64
			var wg sync.WaitGroup
			const perKey = 10 // requests per goroutine per key: 300 per key
			for g := range 30 {
				s := stores[g%3]
				wg.Go(func() {
					for range perKey {
						for i, k := range keys {
							r, err := s.AllowN(t.Context(), k, limits[i], 1)
							if err != nil {
								t.Error(err)
								return
							}
							if r.Allowed {
								allowed[i].Add(1)
							} else {
								refused.Add(1)
							}
						}
					}
				})
			}
			wg.Wait()
			if alg.suffix == suffixSliding {
				if after, _ := clusterWindow(t, c, period); after != win {
					t.Fatal("the run crossed a window boundary")
				}
			}
			var want int64
			for i := range keys {
				if got := allowed[i].Load(); got != limits[i].Rate {
					t.Errorf("key %s: %d allowed, want exactly %d", keys[i], got, limits[i].Rate)
				}
				want += 30*perKey - limits[i].Rate
			}
			if refused.Load() != want {
				t.Errorf("%d refused, want %d", refused.Load(), want)
			}
		})
	}
}

// testClusterConsume: quota counters on every master, consumed from 30
// goroutines across 3 instances, stop at exactly their max.
func testClusterConsume(t *testing.T, stores []*Redis, c *redis.ClusterClient) {
	keys := spreadKeys(t, c, "quota:", suffixCounter, 6)
	exp := time.Now().Add(time.Hour)
	var used [6]atomic.Int64
	var wg sync.WaitGroup
	for g := range 30 {
		s := stores[g%3]
		wg.Go(func() {
			for range 10 {
				for i, k := range keys {
					max := int64(50 + 11*i)
					q, err := s.Consume(t.Context(), k, 1, max, exp)
					if err != nil {
						t.Error(err)
						return
					}
					if q.Allowed {
						used[i].Add(1)
					}
					if q.Used > max {
						t.Errorf("%s: Used = %d > max %d", k, q.Used, max)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for i, k := range keys {
		max := int64(50 + 11*i)
		if got := used[i].Load(); got != max {
			t.Errorf("%s: %d allowed, want exactly %d", k, got, max)
		}
		for _, s := range stores {
			if v := counterOf(t, s, k); v != max {
				t.Errorf("%s: Counter = %d, want %d", k, v, max)
			}
		}
		// The expiry is set on the counter's node.
		ttl, err := c.PTTL(t.Context(), DefaultRedisPrefix+k+suffixCounter).Result()
		if err != nil || ttl < 59*time.Minute || ttl > time.Hour {
			t.Errorf("%s: PTTL = %v, %v, want about an hour", k, ttl, err)
		}
	}
}

// testClusterValues: Set on one instance, Get on the others, Delete of
// keys on several masters at once.
func testClusterValues(t *testing.T, stores []*Redis, c *redis.ClusterClient) {
	keys := spreadKeys(t, c, "val:", suffixValue, 6)
	for i, k := range keys {
		setValue(t, stores[i%3], k, "v"+k, time.Hour)
	}
	for i, k := range keys {
		v, ok := getValue(t, stores[(i+1)%3], k)
		if !ok || string(v) != "v"+k {
			t.Fatalf("Get(%s) = %q, %v", k, v, ok)
		}
	}
	if _, ok := getValue(t, stores[0], "val:absent"); ok {
		t.Fatal("absent value found")
	}
	// Binary and empty values survive the round trip.
	bin := []byte{0, 1, 0xff, '\r', '\n'}
	if err := stores[0].Set(t.Context(), "val:bin", bin, 0); err != nil {
		t.Fatal(err)
	}
	if v, ok := getValue(t, stores[1], "val:bin"); !ok || !bytes.Equal(v, bin) {
		t.Fatalf("binary value = %q, %v", v, ok)
	}
	// One Delete call spanning every master (slots differ).
	if err := stores[2].Delete(t.Context(), keys[:5]...); err != nil {
		t.Fatalf("Delete across slots: %v", err)
	}
	for i, k := range keys {
		_, ok := getValue(t, stores[0], k)
		if ok != (i == 5) {
			t.Fatalf("after Delete of %v: Get(%s) found=%v", keys[:5], k, ok)
		}
	}
}

// masterKeys lists, per master, the keys matching pattern.
func masterKeys(t *testing.T, c *redis.ClusterClient, pattern string) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	out := map[string][]string{}
	err := c.ForEachMaster(t.Context(), func(ctx context.Context, n *redis.Client) error {
		keys, err := n.Keys(ctx, pattern).Result()
		mu.Lock()
		defer mu.Unlock()
		out[n.Options().Addr] = keys
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testClusterDeletePrefix: DeletePrefix removes the matching keys (of
// every kind) from every master, and nothing else.
func testClusterDeletePrefix(t *testing.T, stores []*Redis, c *redis.ClusterClient) {
	ctx := t.Context()
	s := stores[0]
	// Start from empty masters. ClusterClient.FlushAll reaches one node
	// only, so flush each.
	err := c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		return n.FlushAll(ctx).Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	g := Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 5}
	w := Limit{Algorithm: SlidingWindow, Rate: 5, Period: time.Minute}
	const n = 30
	for i := range n {
		k := fmt.Sprintf("del:%d", i)
		switch i % 4 {
		case 0:
			setValue(t, s, k, "x", 0)
		case 1:
			consume(t, s, k, 1, 5, time.Time{})
		case 2:
			allow(t, s, k, g, 1)
		case 3:
			allow(t, s, k, w, 1)
		}
	}
	// "del" is stored as "gatehouse:del:v", which the SCAN glob of
	// "del:" matches: DeletePrefix must still spare it.
	keep := []string{"dex:1", "de:1", "xdel:1", "other:del:1", "del", "DEL:1"}
	for _, k := range keep {
		setValue(t, s, k, "keep", 0)
	}
	before := masterKeys(t, c, DefaultRedisPrefix+"del:*")
	if len(before) != 3 {
		t.Fatalf("%d masters, want 3", len(before))
	}
	total := 0
	for addr, keys := range before {
		if len(keys) == 0 {
			t.Fatalf("no del: keys on master %s: the test would not cover it", addr)
		}
		total += len(keys)
	}
	if total != n+1 { // with "gatehouse:del:v"
		t.Fatalf("%d keys match del:* before, want %d", total, n+1)
	}

	// Another instance deletes what the first wrote.
	got, err := stores[1].DeletePrefix(ctx, "del:")
	if err != nil || got != n {
		t.Fatalf("DeletePrefix(del:) = %d, %v, want %d", got, err, n)
	}
	for addr, keys := range masterKeys(t, c, DefaultRedisPrefix+"del:[0-9]*") {
		if len(keys) != 0 { // "gatehouse:del:v" aside
			t.Fatalf("master %s still holds %v", addr, keys)
		}
	}
	var left []string
	for _, keys := range masterKeys(t, c, "*") {
		left = append(left, keys...)
	}
	slices.Sort(left)
	var want []string
	for _, k := range keep {
		want = append(want, DefaultRedisPrefix+k+suffixValue)
	}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Fatalf("keys left = %v, want %v", left, want)
	}
	for _, k := range keep {
		if v, ok := getValue(t, s, k); !ok || string(v) != "keep" {
			t.Fatalf("%s = %q, %v after DeletePrefix", k, v, ok)
		}
	}
	if got, err := s.DeletePrefix(ctx, "del:"); err != nil || got != 0 {
		t.Fatalf("second DeletePrefix = %d, %v, want 0", got, err)
	}
}
