package compose

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Compose is a composing route's action.
type Compose struct {
	cfg     Config
	plan    *plan
	timeout time.Duration
	maxBody int64
}

// New compiles c. Steps that need unknown steps or form a cycle (which
// validation refuses) fail at run time instead of deadlocking.
func New(c Config) *Compose {
	x := &Compose{cfg: c, plan: newPlan(c.Steps), timeout: c.Timeout, maxBody: c.MaxBodyBytes}
	if x.timeout <= 0 {
		x.timeout = DefaultTimeout
	}
	if x.maxBody <= 0 {
		x.maxBody = DefaultMaxBodyBytes
	}
	return x
}

// outcome is one step's result, written by the step's goroutine before
// it closes its done channel.
type outcome struct {
	result Result
	value  any // decoded and shaped, or the default
	err    error
	dur    time.Duration
}

// run is one request's composition.
type run struct {
	c       *Compose
	r       *http.Request
	info    *reqinfo.Info // the client request's (may be nil)
	ctx     context.Context
	cancel  context.CancelCauseFunc
	done    []chan struct{}
	out     []outcome
	depth   int
	failMu  sync.Mutex
	failed  int // index of the first step that failed with Fail, or -1
	started time.Time
}

// errStepFailed is the cancel cause when a Fail step failed.
var errStepFailed = errors.New("a step failed")

// ServeHTTP runs the composition and writes the merged answer.
func (c *Compose) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	depth := depthOf(r.Context()) + 1
	if depth > MaxDepth {
		problem.Write(w, r, http.StatusLoopDetected, fmt.Sprintf("compositions nest deeper than %d (a route-relative step reaches a composing route)", MaxDepth))
		return
	}
	tctx, tcancel := context.WithTimeout(withDepth(r.Context(), depth), c.timeout)
	defer tcancel()
	ctx, cancel := context.WithCancelCause(tctx)
	defer cancel(nil)
	n := len(c.cfg.Steps)
	x := &run{c: c, r: r, info: reqinfo.FromContext(r.Context()), ctx: ctx, cancel: cancel,
		done: make([]chan struct{}, n), out: make([]outcome, n), depth: depth, failed: -1, started: time.Now()}
	for i := range x.done {
		x.done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		go func() {
			defer wg.Done()
			x.step(i)
		}()
	}
	// Every step goroutine ends before the handler returns: they read the
	// client's request, which the server may reuse afterwards. A timeout
	// cancels their context, so this wait is bounded by how fast calls
	// honour cancellation.
	wg.Wait()
	x.finish(w, tctx)
}

// step runs step i once its needs are done, and records its outcome.
func (x *run) step(i int) {
	s := &x.c.cfg.Steps[i]
	defer close(x.done[i])
	start := time.Now()
	if x.c.plan.broken[i] {
		x.settle(i, s, nil, errors.New("needs an unknown step or is on a needs cycle"), start)
		return
	}
	for _, j := range x.c.plan.needs[i] {
		select {
		case <-x.done[j]:
		case <-x.ctx.Done():
		}
	}
	if err := x.ctx.Err(); err != nil {
		if errors.Is(context.Cause(x.ctx), errStepFailed) {
			// Another step already failed the request: this one never ran.
			x.out[i] = outcome{result: Skipped, dur: time.Since(start)}
			x.observe(s, x.out[i])
			return
		}
		x.settle(i, s, nil, context.Cause(x.ctx), start)
		return
	}
	// A step runs on its needs' results: when one has none, the step
	// does not call with empty values. A need skipped by its condition
	// skips this step too; a need that failed (omitted) fails this one,
	// under its own on_error (a default counts as a result).
	for _, j := range x.c.plan.needs[i] {
		switch x.out[j].result {
		case Skipped:
			x.out[i] = outcome{result: Skipped, dur: time.Since(start)}
			x.observe(s, x.out[i])
			return
		case Omitted, Error:
			x.settle(i, s, nil, stepErr("needs step %q, which has no result", x.c.cfg.Steps[j].Name), start)
			return
		}
	}
	vars := x.vars(i)
	if s.When != nil && !s.When(vars) {
		x.out[i] = outcome{result: Skipped, dur: time.Since(start)}
		x.observe(s, x.out[i])
		return
	}
	var v any
	var err error
	if s.ForEach != nil {
		v, err = x.forEach(s, vars)
	} else {
		v, err = x.call(x.ctx, s, vars)
	}
	x.settle(i, s, v, err, start)
}

// settle records step i's outcome, applying its OnError to a failure.
func (x *run) settle(i int, s *Step, v any, err error, start time.Time) {
	o := outcome{result: OK, value: v, err: err, dur: time.Since(start)}
	if err != nil {
		switch s.OnError {
		case Omit:
			o.result, o.value = Omitted, nil
		case UseDefault:
			o.result, o.value = Defaulted, s.Default
		default:
			o.result, o.value = Error, nil
			x.failMu.Lock()
			if x.failed < 0 {
				x.failed = i
			}
			x.failMu.Unlock()
			x.cancel(errStepFailed)
		}
	}
	x.out[i] = o
	x.observe(s, o)
}

func (x *run) observe(s *Step, o outcome) {
	if s.Observe != nil {
		s.Observe(o.result, o.dur)
	}
}

// vars are the variables step i's templates see: the request's and the
// results of every step it depends on (all finished).
func (x *run) vars(i int) *expr.Vars {
	v := &expr.Vars{Req: x.r, Info: x.info}
	if deps := x.c.plan.deps[i]; len(deps) > 0 {
		v.Steps = make(map[string]any, len(deps))
		for _, j := range deps {
			if o := x.out[j]; o.result == OK || o.result == Defaulted {
				v.Steps[x.c.cfg.Steps[j].Name] = o.value
			}
		}
	}
	return v
}

// summary is the access-log field: "user:ok:12ms,orders:omitted:500ms".
func (x *run) summary() string {
	var b strings.Builder
	for i, s := range x.c.cfg.Steps {
		if i > 0 {
			b.WriteByte(',')
		}
		o := x.out[i]
		fmt.Fprintf(&b, "%s:%s:%dms", s.Name, o.result, o.dur.Milliseconds())
	}
	return b.String()
}

type depthKey struct{}

func depthOf(ctx context.Context) int {
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}

func withDepth(ctx context.Context, d int) context.Context {
	return context.WithValue(ctx, depthKey{}, d)
}
