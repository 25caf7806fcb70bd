package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"go.uber.org/goleak"
)

// waitFor polls cond, the readiness check of these tests, failing after
// a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRedisPipelineClose: Close with calls queued and in flight against a
// server that never answers makes every caller return at once with
// ErrUnavailable, and leaves no goroutine behind.
func TestRedisPipelineClose(t *testing.T) {
	// Not parallel: goleak must see only this test's goroutines. The
	// check is the first cleanup so it runs last, after the client and
	// the hanging server are closed.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	c := newClient(t, hangingServer(t))
	// One call per pipeline: pipelineFlushers calls hang in flight, the
	// rest wait in the queue.
	s := NewRedis(c, "", WithPipelining(1, 0))
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 1}
	const callers = 6
	type ret struct {
		err error
		at  time.Time
	}
	rets := make(chan ret, callers)
	for range callers {
		go func() {
			// No deadline: only Close can end these calls.
			_, err := s.AllowN(context.Background(), "k", l, 1)
			rets <- ret{err, time.Now()}
		}()
	}
	waitFor(t, "queued calls", func() bool {
		return len(s.batch.queue) == callers-pipelineFlushers && s.batch.running.Load() == pipelineFlushers
	})
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v (bounded by the pipeline I/O cap %v)", time.Since(start), pipelineIOCap)
	if took := time.Since(start); took > pipelineIOCap+500*time.Millisecond {
		t.Errorf("Close took %v", took)
	}
	for range callers {
		r := <-rets
		if !errors.Is(r.err, ErrUnavailable) {
			t.Errorf("pending call after Close: %v, want ErrUnavailable", r.err)
		}
		if d := r.at.Sub(start); d > 250*time.Millisecond {
			t.Errorf("pending call returned %v after Close", d)
		}
	}
	if _, err := s.AllowN(context.Background(), "k", l, 1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("AllowN after Close: %v", err)
	}
}

// TestRedisPipelineIdleExits: flushers run only while there is work, so
// a store dropped without Close holds no goroutine.
func TestRedisPipelineIdleExits(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	s := NewRedis(newClient(t, srv.Addr), "", WithPipelining(0, 0))
	l := Limit{Algorithm: SlidingWindow, Rate: 1000, Period: time.Minute}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 20 {
				if _, err := s.AllowN(t.Context(), "k", l, 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "flushers to exit", func() bool { return s.batch.running.Load() == 0 })
	// And a new call starts one again.
	if r := allow(t, s, "k", l, 1); !r.Allowed {
		t.Fatalf("after idle: %+v", r)
	}
}

// TestRedisPipelineErrorsStayPerCall: one failing command (a key of the
// wrong type) fails only its own caller; a caller that gave up before
// its batch went out is skipped, so its decision is never made; and a
// server that lost its scripts gets them back (EVAL) within the batch.
func TestRedisPipelineErrorsStayPerCall(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := NewRedis(c, "", WithPipelining(0, 0))
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	if err := c.HSet(ctx, DefaultRedisPrefix+"bad"+suffixGCRA, "x", "y").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	l := Limit{Algorithm: GCRA, Rate: 10, Period: time.Second, Burst: 10}
	t0 := int64(emission(l) / tick)
	gone, cancel := context.WithCancel(ctx)
	cancel()
	mk := func(ctx context.Context, key string) *call {
		c := &call{ctx: ctx, script: gcraScript, done: make(chan struct{}, 1)}
		c.keys[0] = DefaultRedisPrefix + key + suffixGCRA
		c.args = [3]any{t0, l.Burst, int64(1)}
		return c
	}
	good1, bad, skipped, good2 := mk(ctx, "a"), mk(ctx, "bad"), mk(gone, "skipped"), mk(ctx, "b")
	s.batch.send([]*call{good1, bad, skipped, good2}, nil)
	for name, c := range map[string]*call{"good1": good1, "good2": good2} {
		select {
		case <-c.done:
		default:
			t.Fatalf("%s: no answer", name)
		}
		if c.err != nil || len(c.res) != 3 || c.res[0] != 1 {
			t.Errorf("%s: %v, %v; want allowed after the script reload", name, c.res, c.err)
		}
	}
	<-bad.done
	if bad.err == nil {
		t.Errorf("bad: %v, want WRONGTYPE", bad.res)
	}
	select {
	case <-skipped.done:
		t.Error("the caller that gave up got an answer")
	default:
	}
	if n, err := c.Exists(ctx, DefaultRedisPrefix+"skipped"+suffixGCRA).Result(); err != nil || n != 0 {
		t.Errorf("decision made for a caller that gave up: exists=%d, %v", n, err)
	}
	// Through the public API the bad key's error wraps ErrUnavailable.
	if _, err := s.AllowN(ctx, "bad", l, 1); !errors.Is(err, ErrUnavailable) {
		t.Errorf("AllowN on a wrong-type key: %v, want ErrUnavailable", err)
	}
}

// TestRedisPipelineDeadlineInQueue: a caller whose deadline passes while
// its call waits behind a hung pipeline returns on time.
func TestRedisPipelineDeadlineInQueue(t *testing.T) {
	t.Parallel()
	s := NewRedis(newClient(t, hangingServer(t)), "", WithPipelining(1, 0))
	t.Cleanup(func() { _ = s.Close() })
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 1}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := s.AllowN(ctx, "k", l, 1)
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v, want ErrUnavailable and DeadlineExceeded", err)
			}
			if took := time.Since(start); took > 250*time.Millisecond {
				t.Errorf("took %v with a 50ms deadline", took)
			}
		})
	}
	wg.Wait()
}

func TestWithPipeliningBounds(t *testing.T) {
	for _, tc := range []struct {
		batch, wantBatch int
		delay, wantDelay time.Duration
	}{
		{0, DefaultPipelineBatch, 0, 0},
		{-5, DefaultPipelineBatch, -time.Second, 0},
		{1, 1, time.Millisecond, time.Millisecond},
		{1 << 20, maxPipelineBatch, time.Hour, maxPipelineDelay},
	} {
		var c redisConfig
		WithPipelining(tc.batch, tc.delay)(&c)
		if !c.pipeline || c.maxBatch != tc.wantBatch || c.maxDelay != tc.wantDelay {
			t.Errorf("WithPipelining(%d, %v) = %+v", tc.batch, tc.delay, c)
		}
	}
	if s := NewRedis(nil, "", WithoutPipelining()); s.batch != nil {
		t.Error("WithoutPipelining left pipelining on")
	}
	if s := NewRedis(nil, ""); s.batch != nil {
		t.Error("pipelining is on by default")
	}
}
