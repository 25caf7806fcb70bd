package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Auto-pipelining of the decision scripts (AllowN, Consume).
//
// Without it every decision is its own round trip on its own pooled
// connection: one write and one read syscall per request on both the
// gateway and the server. With it, concurrent callers put their script
// call on a queue and a few flusher goroutines send whatever is queued
// as one pipeline (one write, one read for the lot). A flusher never
// waits for a batch to fill: while one pipeline is in flight the next
// callers queue up and go out together in the next one, so batches grow
// with load and a lone request goes out at once. Each decision is still
// its own script invocation, atomic on the server.
//
// Flushers run only while there is work: the first caller to find none
// running starts one, and a flusher exits when the queue is empty. An
// idle store therefore holds no goroutine, and one that is dropped
// without Close (a replaced configuration) leaks nothing.

const (
	// DefaultPipelineBatch is the most script calls one pipeline carries
	// when WithPipelining is given maxBatch ≤ 0.
	DefaultPipelineBatch = 128
	// maxPipelineBatch bounds maxBatch (and so each flusher's buffers).
	maxPipelineBatch = 4096
	// maxPipelineDelay bounds maxDelay: waiting longer for company costs
	// every request more than a round trip saves.
	maxPipelineDelay = 10 * time.Millisecond
	// pipelineFlushers is how many pipelines may be in flight at once.
	// Two keep the server busy while the gateway reads one reply; more
	// only split the batches.
	pipelineFlushers = 2
	// pipelineIOCap bounds one pipeline's I/O, however far off its
	// callers' deadlines are (or when they have none), so a server that
	// stops answering cannot hold a flusher, or Close, for longer.
	pipelineIOCap = time.Second
)

// RedisOption configures NewRedis.
type RedisOption func(*redisConfig)

type redisConfig struct {
	pipeline bool
	maxBatch int
	maxDelay time.Duration
}

// WithPipelining makes AllowN and Consume auto-pipelined: calls made
// concurrently share pipelines of at most maxBatch script calls
// (DefaultPipelineBatch when ≤ 0, at most 4096). A flusher sends what
// is queued as soon as it is free; with maxDelay > 0 (at most 10ms) it
// first waits up to maxDelay for a batch to fill, trading latency for
// fewer round trips. maxDelay ≤ 0 never waits, which is what a gateway
// wants: batches still grow with concurrency.
//
// Every caller keeps its own context deadline. A pipeline's I/O runs
// under the latest deadline among its callers, capped at one second,
// and without the callers' context values (tracing hooks see the
// pipeline, not the request).
func WithPipelining(maxBatch int, maxDelay time.Duration) RedisOption {
	// Clamp here, not in the closure: one option value may configure
	// many stores concurrently.
	if maxBatch <= 0 {
		maxBatch = DefaultPipelineBatch
	}
	maxBatch = min(maxBatch, maxPipelineBatch)
	maxDelay = min(max(maxDelay, 0), maxPipelineDelay)
	return func(c *redisConfig) {
		c.pipeline, c.maxBatch, c.maxDelay = true, maxBatch, maxDelay
	}
}

// WithoutPipelining makes every AllowN and Consume its own round trip,
// the default; it undoes an earlier WithPipelining.
func WithoutPipelining() RedisOption {
	return func(c *redisConfig) { c.pipeline = false }
}

// call is one queued script call. A caller that got its result back
// returns the call to callPool; one that gave up (deadline, Close)
// leaves it to the garbage collector, since a flusher may still write
// to it.
type call struct {
	ctx    context.Context
	script *redis.Script
	keys   [1]string
	args   [3]any
	res    []int64
	err    error
	done   chan struct{} // buffered: the flusher never blocks on it
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// batcher queues script calls and runs the flushers.
type batcher struct {
	c        redis.UniversalClient
	queue    chan *call
	maxBatch int
	maxDelay time.Duration

	// running counts live flushers. It is changed with atomics so the
	// hot path only reads it; starting one takes mu so that Close's
	// wg.Wait never races a wg.Add.
	running atomic.Int32
	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
	stop    chan struct{} // closed by close
	base    context.Context
	cancel  context.CancelFunc
}

func newBatcher(c redis.UniversalClient, maxBatch int, maxDelay time.Duration) *batcher {
	base, cancel := context.WithCancel(context.Background())
	return &batcher{
		c:        c,
		queue:    make(chan *call, 4*maxBatch),
		maxBatch: maxBatch,
		maxDelay: maxDelay,
		stop:     make(chan struct{}),
		base:     base,
		cancel:   cancel,
	}
}

// run queues one script call and waits for its result, its context or
// Close, whichever comes first. Errors wrap ErrUnavailable.
func (b *batcher) run(ctx context.Context, s *redis.Script, key string, a1, a2, a3 int64) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable(ctx, err)
	}
	c := callPool.Get().(*call)
	c.ctx, c.script, c.keys[0] = ctx, s, key
	c.args[0], c.args[1], c.args[2] = a1, a2, a3
	select {
	case b.queue <- c:
	case <-ctx.Done():
		b.release(c)
		return nil, unavailable(ctx, ctx.Err())
	case <-b.stop:
		b.release(c)
		return nil, errClosed
	}
	if b.running.Load() < pipelineFlushers {
		b.startFlusher()
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, unavailable(ctx, ctx.Err())
	case <-b.stop:
		select {
		case <-c.done: // answered just before Close: keep the answer
		default:
			return nil, errClosed
		}
	}
	res, err := c.res, c.err
	b.release(c)
	if err != nil {
		return nil, unavailable(ctx, err)
	}
	return res, nil
}

// release returns a call no flusher holds to the pool.
func (b *batcher) release(c *call) {
	*c = call{done: c.done}
	callPool.Put(c)
}

// startFlusher starts a flusher unless enough run or the batcher is
// closed.
func (b *batcher) startFlusher() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for {
		n := b.running.Load()
		if n >= pipelineFlushers {
			return
		}
		if b.running.CompareAndSwap(n, n+1) {
			break
		}
	}
	b.wg.Add(1)
	go b.flusher()
}

// flushBufs are a flusher's batch buffers, pooled because flushers
// come and go with the load.
type flushBufs struct {
	batch []*call
	cmds  []*redis.Cmd
}

var flushPool sync.Pool

// flusher sends batches until the queue is empty, then exits.
func (b *batcher) flusher() {
	defer b.wg.Done()
	bufs, _ := flushPool.Get().(*flushBufs)
	if bufs == nil {
		bufs = &flushBufs{}
	}
	batch, cmds := bufs.batch[:0], bufs.cmds[:0]
	defer func() {
		bufs.batch, bufs.cmds = batch[:0], cmds[:0]
		flushPool.Put(bufs)
	}()
	var timer *time.Timer
	if b.maxDelay > 0 {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
	}
	for {
		var first *call
		select {
		case first = <-b.queue:
		case <-b.stop:
			b.running.Add(-1)
			return
		default:
			// Empty: exit. A caller that queued after the receive
			// above but read running before the decrement did not
			// start a flusher, so look once more after it.
			b.running.Add(-1)
			select {
			case first = <-b.queue:
				b.running.Add(1)
			default:
				return
			}
		}
		batch = b.collect(append(batch[:0], first), timer)
		cmds = b.send(batch, cmds[:0])
		clear(batch) // drop references for the garbage collector
	}
}

// collect adds what is queued to batch without waiting, then, with a
// maxDelay, waits up to it for the batch to fill.
func (b *batcher) collect(batch []*call, timer *time.Timer) []*call {
	for len(batch) < b.maxBatch {
		select {
		case c := <-b.queue:
			batch = append(batch, c)
			continue
		default:
		}
		break
	}
	if timer == nil || len(batch) >= b.maxBatch {
		return batch
	}
	timer.Reset(b.maxDelay)
	defer timer.Stop()
	for len(batch) < b.maxBatch {
		select {
		case c := <-b.queue:
			batch = append(batch, c)
		case <-timer.C:
			return batch
		case <-b.stop:
			return batch
		}
	}
	return batch
}

// send runs batch as one pipeline of EVALSHA, retries the calls that
// found their script missing (a restarted or flushed server) once with
// EVAL, which loads it, and hands every caller its own result.
func (b *batcher) send(batch []*call, cmds []*redis.Cmd) []*redis.Cmd {
	// Skip callers that already gave up: their decisions must not be
	// made (they were told it failed), and the pipeline only needs to
	// last as long as the latest deadline among the rest.
	now := time.Now()
	limit := now.Add(pipelineIOCap)
	var deadline time.Time
	live := batch[:0]
	for _, c := range batch {
		if c.ctx.Err() != nil {
			continue
		}
		d, ok := c.ctx.Deadline()
		if !ok || d.After(limit) {
			d = limit
		}
		if d.After(deadline) {
			deadline = d
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return cmds
	}
	ctx, cancel := context.WithDeadline(b.base, deadline)
	defer cancel()

	p := b.c.Pipeline()
	for _, c := range live {
		cmds = append(cmds, c.script.EvalSha(ctx, p, c.keys[:], c.args[:]...))
	}
	_, execErr := p.Exec(ctx) // each command carries its own error, mostly
	retry := false
	for i, c := range live {
		if isNoScript(cmds[i].Err()) {
			retry = true
			continue
		}
		c.res, c.err = pipelineResult(cmds[i], execErr)
	}
	if retry {
		p = b.c.Pipeline()
		for i, c := range live {
			if isNoScript(cmds[i].Err()) {
				cmds[i] = c.script.Eval(ctx, p, c.keys[:], c.args[:]...)
			} else {
				cmds[i] = nil
			}
		}
		_, execErr = p.Exec(ctx)
		for i, c := range live {
			if cmds[i] != nil {
				c.res, c.err = pipelineResult(cmds[i], execErr)
			}
		}
	}
	for _, c := range live {
		c.done <- struct{}{}
	}
	clear(cmds)
	return cmds[:0]
}

// pipelineResult is one script call's result from a pipeline whose Exec
// returned execErr. go-redis copies a failure to get a connection into
// every command only when it is not a Redis error reply; one that is
// (WRONGPASS: AUTH refused while setting the connection up) is returned
// by Exec alone and leaves the commands with neither a reply nor an
// error. The caller must then get that error, not "unexpected type".
func pipelineResult(cmd *redis.Cmd, execErr error) ([]int64, error) {
	if execErr != nil && cmd.Err() == nil && cmd.Val() == nil {
		return nil, execErr
	}
	return cmd.Int64Slice()
}

// isNoScript reports whether err means the server does not have the
// script cached.
func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}

// close stops the flushers: queued and waiting callers return
// errClosed at once; close itself waits for pipelines in flight, whose
// I/O is bounded by pipelineIOCap.
func (b *batcher) close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.stop)
	b.cancel()
	b.mu.Unlock()
	b.wg.Wait()
	for {
		select {
		case <-b.queue: // abandoned by callers that saw stop
		default:
			return
		}
	}
}
