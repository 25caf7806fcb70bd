package store

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	// The outage tests make go-redis log every failed dial.
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// newClient builds a client the way callers must: honouring context
// deadlines.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// redisModes are the ways a Redis store runs decisions; every Redis
// behaviour test runs in each.
var redisModes = []struct {
	name string
	opt  RedisOption
}{
	{"Redis", WithoutPipelining()},
	{"RedisPipelined", WithPipelining(0, 0)},
}

func newRedisHarness(t *testing.T, opt RedisOption) harness {
	t.Helper()
	srv := redistest.Start(t)
	s := NewRedis(newClient(t, srv.Addr), "", opt)
	t.Cleanup(func() { _ = s.Close() })
	return harness{s: s, now: time.Now, sleepUntil: realSleepUntil}
}

func TestRedisKeyLayout(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	ctx := t.Context()
	s := NewRedis(c, "")
	custom := NewRedis(c, "gw2:")
	allow(t, s, "k", Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 5}, 1)
	allow(t, s, "k", Limit{Algorithm: SlidingWindow, Rate: 5, Period: time.Minute}, 1)
	consume(t, s, "k", 1, 5, time.Now().Add(time.Hour))
	consume(t, s, "k2", 1, 5, time.Time{})
	setValue(t, s, "k", "v", time.Hour)
	setValue(t, custom, "k", "other", 0)

	ttls := map[string][2]time.Duration{ // key → PTTL bounds
		"gatehouse:k:g":  {time.Second, time.Minute + time.Second},   // one emission interval
		"gatehouse:k:w":  {time.Minute, 2*time.Minute + time.Second}, // to the end of the next window
		"gatehouse:k:q":  {59 * time.Minute, time.Hour},
		"gatehouse:k:v":  {59 * time.Minute, time.Hour},
		"gatehouse:k2:q": {-1, -1}, // no expiry
		"gw2:k:v":        {-1, -1},
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(ttls) {
		t.Fatalf("keys %q, want %d", keys, len(ttls))
	}
	for k, b := range ttls {
		d, err := c.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if b[0] == -1 {
			if d != -1 {
				t.Errorf("%s: PTTL %v, want none", k, d)
			}
			continue
		}
		if d < b[0] || d > b[1] {
			t.Errorf("%s: PTTL %v, want in [%v, %v]", k, d, b[0], b[1])
		}
	}
	if b, _ := getValue(t, custom, "k"); string(b) != "other" {
		t.Fatalf("custom prefix value = %q", b)
	}
	// DeletePrefix stays within the store's own prefix.
	if n, err := s.DeletePrefix(ctx, ""); err != nil || n != 5 {
		t.Fatalf("DeletePrefix(\"\") = %d, %v, want 5", n, err)
	}
	if b, _ := getValue(t, custom, "k"); string(b) != "other" {
		t.Fatal("DeletePrefix crossed into another prefix")
	}
}

// hangingServer accepts connections and never answers.
func hangingServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

// TestRedisDeadline shows that a server which accepts connections but
// never answers costs a call its context deadline, not go-redis's
// ReadTimeout, and that the error says both "unavailable" and
// "deadline exceeded".
func TestRedisDeadline(t *testing.T) {
	t.Parallel()
	for _, m := range redisModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testRedisDeadline(t, NewRedis(newClient(t, hangingServer(t)), "", m.opt))
		})
	}
}

func testRedisDeadline(t *testing.T, s *Redis) {
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 1}
	calls := map[string]func(ctx context.Context) error{
		"AllowN": func(ctx context.Context) error { _, err := s.AllowN(ctx, "k", l, 1); return err },
		"Consume": func(ctx context.Context) error {
			_, err := s.Consume(ctx, "k", 1, 5, time.Time{})
			return err
		},
		"Get":          func(ctx context.Context) error { _, _, err := s.Get(ctx, "k"); return err },
		"DeletePrefix": func(ctx context.Context) error { _, err := s.DeletePrefix(ctx, "k"); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		t.Logf("%s: %v after %v", name, err, took)
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want ErrUnavailable and DeadlineExceeded", name, err)
		}
		// Typically ~51ms. What is tested is that the call ends with
		// ctx, not after go-redis's 3s ReadTimeout, which is what a
		// client without ContextTimeoutEnabled would wait: the bound is
		// half of that, so a loaded machine descheduling the test for a
		// few hundred milliseconds does not fail it.
		if took > 1500*time.Millisecond {
			t.Errorf("%s took %v with a 50ms deadline", name, took)
		}
	}
}

// TestRedisDownAndRestart: with the server gone calls fail fast with
// ErrUnavailable; once it is back the same client works again (the
// scripts are reloaded through the EVAL fallback).
func TestRedisDownAndRestart(t *testing.T) {
	t.Parallel()
	for _, m := range redisModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			testRedisDownAndRestart(t, srv, NewRedis(newClient(t, srv.Addr), "", m.opt))
		})
	}
}

func testRedisDownAndRestart(t *testing.T, srv *redistest.Server, s *Redis) {
	l := Limit{Algorithm: SlidingWindow, Rate: 10, Period: time.Minute}
	allow(t, s, "k", l, 1)
	consume(t, s, "q", 1, 10, time.Time{})

	srv.Stop()
	const deadline = 200 * time.Millisecond
	calls := map[string]func(ctx context.Context) error{
		"AllowN": func(ctx context.Context) error { _, err := s.AllowN(ctx, "k", l, 1); return err },
		"Consume": func(ctx context.Context) error {
			_, err := s.Consume(ctx, "q", 1, 10, time.Time{})
			return err
		},
		"Counter":      func(ctx context.Context) error { _, err := s.Counter(ctx, "q"); return err },
		"Get":          func(ctx context.Context) error { _, _, err := s.Get(ctx, "v"); return err },
		"Set":          func(ctx context.Context) error { return s.Set(ctx, "v", []byte("x"), 0) },
		"Delete":       func(ctx context.Context) error { return s.Delete(ctx, "v") },
		"DeletePrefix": func(ctx context.Context) error { _, err := s.DeletePrefix(ctx, "v"); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		err := call(ctx)
		took := time.Since(start)
		cancel()
		t.Logf("%s while down: %v after %v", name, err, took)
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s while down: %v, want ErrUnavailable", name, err)
		}
		// Ends with ctx (the dial retries stop at the deadline), not
		// after go-redis's dial timeouts and retries; the slack is for a
		// loaded machine.
		if took > deadline+1300*time.Millisecond {
			t.Errorf("%s while down took %v, deadline %v", name, took, deadline)
		}
	}

	srv.Restart()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	r, err := s.AllowN(ctx, "k", l, 1)
	if err != nil || !r.Allowed {
		t.Fatalf("AllowN after restart: %+v, %v", r, err)
	}
	if q, err := s.Consume(ctx, "q", 1, 10, time.Time{}); err != nil || q.Used != 1 {
		t.Fatalf("Consume after restart (data lost with the server): %+v, %v", q, err)
	}
}

// serverWindow is the index of the sliding window the server's clock is
// in.
func serverWindow(t *testing.T, c *redis.Client, period time.Duration) (int64, time.Duration) {
	t.Helper()
	now, err := c.Time(t.Context()).Result()
	if err != nil {
		t.Fatal(err)
	}
	ns := now.UnixNano()
	win := ns / int64(period)
	return win, time.Duration((win+1)*int64(period) - ns)
}

// TestRedisInstancesShareLimit: three clients (three gateway instances)
// hammer one limit from 30 goroutines; exactly the limit is admitted.
func TestRedisInstancesShareLimit(t *testing.T) {
	t.Parallel()
	for _, m := range redisModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			testRedisInstancesShareLimit(t, m.opt)
		})
	}
}

func testRedisInstancesShareLimit(t *testing.T, opt RedisOption) {
	srv := redistest.Start(t)
	var stores []*Redis
	var clients []*redis.Client
	for range 3 {
		c := newClient(t, srv.Addr)
		clients = append(clients, c)
		s := NewRedis(c, "", opt)
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	for _, tc := range []struct {
		name string
		l    Limit
	}{
		// A window of an hour: the run (seconds on a loaded machine) fits
		// in it with a wide margin.
		{"SlidingWindow", Limit{Algorithm: SlidingWindow, Rate: 100, Period: time.Hour}},
		// One token per 36s: no refill during the run.
		{"GCRA", Limit{Algorithm: GCRA, Rate: 100, Period: time.Hour, Burst: 100}},
	} {
		// The sliding window must not roll over mid-run: start with at
		// least a minute of the window left (waiting out the rest of the
		// hour in the rare case it is not) and check it afterwards.
		win, left := serverWindow(t, clients[0], tc.l.Period)
		if tc.l.Algorithm == SlidingWindow && left < time.Minute {
			time.Sleep(left + 10*time.Millisecond)
			win, _ = serverWindow(t, clients[0], tc.l.Period)
		}
		var allowed, refused atomic.Int64
		var wg sync.WaitGroup
		for g := range 30 {
			s := stores[g%3]
			wg.Go(func() {
				for range 10 {
					r, err := s.AllowN(t.Context(), "shared", tc.l, 1)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Allowed {
						allowed.Add(1)
					} else {
						refused.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if tc.l.Algorithm == SlidingWindow {
			if after, _ := serverWindow(t, clients[0], tc.l.Period); after != win {
				t.Fatalf("%s: the run crossed a window boundary", tc.name)
			}
		}
		t.Logf("%s: 3 instances × 30 goroutines × 10 requests: %d allowed, %d refused", tc.name, allowed.Load(), refused.Load())
		if allowed.Load() != 100 || refused.Load() != 200 {
			t.Errorf("%s: %d allowed, %d refused, want 100 and 200", tc.name, allowed.Load(), refused.Load())
		}
	}
}

func TestEscapeGlob(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"plain:key":  "plain:key",
		`a*b?c[d]e\`: `a\*b\?c\[d\]e\\`,
	} {
		if got := escapeGlob(in); got != want {
			t.Errorf("escapeGlob(%q) = %q, want %q", in, got, want)
		}
	}
}
