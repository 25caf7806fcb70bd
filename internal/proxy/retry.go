package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// RetryPolicy says when a failed attempt is tried again on another target
// of the pool. A route without one keeps the default: one retry on another
// target for an idempotent request without a body whose attempt failed to
// connect or was reset before any response byte (HAProxy's redispatch).
//
// Every retry goes to a target other than the one that just failed; when
// the pool has none, the failure stands, unless SameTarget allows the
// failed target again. The client always gets the last attempt's response
// or error.
type RetryPolicy struct {
	// Attempts is the number of tries, the first included; 0 means 2.
	Attempts int
	// On lists what is retried: "connect-failure" (the connection to the
	// target could not be made), "reset" (the connection was reset or
	// closed before any response byte), "timeout" (PerTryTimeout or the
	// transport's response header timeout expired), "5xx" (any 5xx
	// response) or a specific status code such as "503". Empty means
	// "connect-failure" and "reset". A response is retried only while
	// nothing of it has reached the client: its body is discarded.
	On []string
	// RetryNonIdempotent also retries POST, PATCH and the other methods
	// that are not idempotent (RFC 9110 §9.2.2) and carry no
	// Idempotency-Key. A connect failure is retried for every method
	// regardless: the target never saw the request.
	RetryNonIdempotent bool
	// PerTryTimeout bounds each attempt up to its response header; 0 means
	// none. The route timeout still bounds the whole exchange, and once a
	// response is being relayed only the route timeout applies.
	PerTryTimeout time.Duration
	// BackoffBase and BackoffMax shape the wait before retry n: a random
	// duration in [0, min(BackoffMax, BackoffBase·2^(n-1))) ("full
	// jitter"). 0 means 25ms and 250ms. A retry whose wait would outlast
	// the route timeout is not made.
	BackoffBase, BackoffMax time.Duration
	// BackoffMin raises every wait to at least this much: Gateway API's
	// HTTPRouteRetry.Backoff is a minimum ("not retried before the
	// configured minimum duration"), which full jitter alone breaks.
	BackoffMin time.Duration
	// SameTarget retries on the target that just failed when the pool has
	// no other available one. Gateway API retries a backend request, not a
	// target: a Service with a single endpoint must still be retried.
	SameTarget bool
	// BufferBytes is the replay buffer for a request body: the first
	// BufferBytes of the body are kept as they stream to the target, and
	// a request whose body went beyond them is not retried (except after
	// a connect failure, when none of it was sent), nor one whose body was
	// still being read from the client when the attempt failed (the retry
	// would have to wait on the client). 0 means 64 KiB; a negative value
	// never retries a request whose body was read.
	BufferBytes int64
	// Budget, shared by every route to one upstream, caps concurrent
	// retries to a share of the upstream's active requests; nil means no cap
	// beyond Attempts.
	Budget *Budget
}

// Retry conditions accepted in RetryPolicy.On, besides status codes.
const (
	RetryOnConnectFailure = "connect-failure"
	RetryOnReset          = "reset"
	RetryOnTimeout        = "timeout"
	RetryOn5xx            = "5xx"
)

// Defaults applied to zero RetryPolicy fields.
const (
	DefaultRetryAttempts    = 2
	DefaultBackoffBase      = 25 * time.Millisecond
	DefaultBackoffMax       = 250 * time.Millisecond
	DefaultRetryBufferBytes = 64 << 10
)

// Validate reports the first problem with p, for configuration validation;
// New does not fail on an invalid policy, it ignores what it cannot use.
func (p *RetryPolicy) Validate() error {
	if p.Attempts < 0 {
		return fmt.Errorf("retry attempts %d: must be at least 1 (0 means %d)", p.Attempts, DefaultRetryAttempts)
	}
	if p.PerTryTimeout < 0 || p.BackoffBase < 0 || p.BackoffMax < 0 || p.BackoffMin < 0 {
		return errors.New("retry per-try timeout and backoff must not be negative")
	}
	for _, c := range p.On {
		if _, _, ok := parseCondition(c); !ok {
			return fmt.Errorf("retry condition %q is not known (want %s, %s, %s, %s or a status code 400-599)",
				c, RetryOnConnectFailure, RetryOnReset, RetryOnTimeout, RetryOn5xx)
		}
	}
	return nil
}

// retryOn is a set of error conditions.
type retryOn uint8

const (
	onConnectFailure retryOn = 1 << iota
	onReset
	onTimeout
	on5xx
)

// parseCondition parses one RetryPolicy.On entry: an error condition or a
// status code (status != 0).
func parseCondition(c string) (cond retryOn, status int, ok bool) {
	switch c {
	case RetryOnConnectFailure:
		return onConnectFailure, 0, true
	case RetryOnReset:
		return onReset, 0, true
	case RetryOnTimeout:
		return onTimeout, 0, true
	case RetryOn5xx:
		return on5xx, 0, true
	}
	if n, err := strconv.Atoi(c); err == nil && n >= 400 && n <= 599 && len(c) == 3 {
		return 0, n, true
	}
	return 0, 0, false
}

// retryPolicy is a RetryPolicy compiled for the hot path.
type retryPolicy struct {
	attempts      int
	on            retryOn
	statuses      [10]uint64 // bit s set: status s is retried (s < 640)
	nonIdempotent bool
	// anyMethodOnConnect retries connect failures whatever the method. The
	// default policy does not, as before there were policies.
	anyMethodOnConnect bool
	perTry             time.Duration
	base, max          time.Duration
	min                time.Duration
	sameTarget         bool
	// bufferBytes < 0: a request whose body was read is never retried.
	bufferBytes int64
	budget      *Budget
}

// defaultRetry is the behaviour of a route without a RetryPolicy.
var defaultRetry = retryPolicy{attempts: 2, on: onConnectFailure | onReset, bufferBytes: -1}

// compileRetry turns p into a retryPolicy, ignoring conditions it does not
// know (Validate reports them) and returning them.
func compileRetry(p *RetryPolicy) (rp *retryPolicy, unknown []string) {
	if p == nil {
		return &defaultRetry, nil
	}
	rp = &retryPolicy{
		attempts:           p.Attempts,
		nonIdempotent:      p.RetryNonIdempotent,
		anyMethodOnConnect: true,
		perTry:             max(p.PerTryTimeout, 0),
		base:               p.BackoffBase,
		max:                p.BackoffMax,
		min:                max(p.BackoffMin, 0),
		sameTarget:         p.SameTarget,
		bufferBytes:        p.BufferBytes,
		budget:             p.Budget,
	}
	if rp.attempts <= 0 {
		rp.attempts = DefaultRetryAttempts
	}
	if rp.base <= 0 {
		rp.base = DefaultBackoffBase
	}
	if rp.max <= 0 {
		rp.max = DefaultBackoffMax
	}
	rp.max = max(rp.max, rp.base)
	if rp.bufferBytes == 0 {
		rp.bufferBytes = DefaultRetryBufferBytes
	}
	for _, c := range p.On {
		cond, status, ok := parseCondition(c)
		switch {
		case !ok:
			unknown = append(unknown, c)
		case status != 0:
			rp.statuses[status/64] |= 1 << (status % 64)
		default:
			rp.on |= cond
		}
	}
	if len(p.On) == 0 {
		rp.on = onConnectFailure | onReset
	}
	return rp, unknown
}

// retriesStatus reports whether a response with status is retried.
func (p *retryPolicy) retriesStatus(status int) bool {
	if status >= 500 && status <= 599 && p.on&on5xx != 0 {
		return true
	}
	return status >= 0 && status < 640 && p.statuses[status/64]&(1<<(status%64)) != 0
}

// errorCondition names the retry condition a failed attempt meets, or
// returns 0 when the error is not one a retry can cure (a TLS failure, a
// malformed response).
func errorCondition(err error, f failure) retryOn {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		// Before the timeout check: a dial timeout is a connect failure.
		return onConnectFailure
	}
	if f == upstreamTimeout {
		return onTimeout
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) {
		return onReset
	}
	return 0
}

func (c retryOn) String() string {
	switch c {
	case onConnectFailure:
		return RetryOnConnectFailure
	case onReset:
		return RetryOnReset
	case onTimeout:
		return RetryOnTimeout
	}
	return "?"
}

// backoff is the wait before retry n (1 for the first retry): full jitter
// over an exponentially growing cap, rnd(k) returning a value in [0, k).
func backoff(base, maxWait time.Duration, n int, rnd func(int64) int64) time.Duration {
	if base <= 0 || maxWait <= 0 {
		return 0
	}
	ceil := maxWait
	if shift := n - 1; shift < 62 && base <= maxWait>>shift {
		ceil = base << shift
	}
	return time.Duration(rnd(int64(ceil)))
}

// errPerTryTimeout is the cause of a canceled attempt whose PerTryTimeout
// expired. It is a net.Error with Timeout() true so classify calls it a
// timeout.
var errPerTryTimeout error = perTryTimeoutError{}

type perTryTimeoutError struct{}

func (perTryTimeoutError) Error() string   { return "per-try timeout expired" }
func (perTryTimeoutError) Timeout() bool   { return true }
func (perTryTimeoutError) Temporary() bool { return true }

// randN is the jitter source: math/rand/v2's global generator is safe for
// concurrent use and does not allocate.
func randN(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

// discardResponse closes the body of a response that is retried, first
// draining a small one so its connection can be reused.
func discardResponse(res *http.Response) {
	const drainMax = 4 << 10
	if res.ContentLength >= 0 && res.ContentLength <= drainMax {
		io.CopyN(io.Discard, res.Body, drainMax+1)
	}
	res.Body.Close()
}

// attempts is one request's tries: it sends the request to a target,
// classifies the outcome, decides whether the retry policy tries again,
// rewinds the body and retargets — until an attempt's response is to be
// relayed or the client has been answered.
type attempts struct {
	h    *handler
	w    http.ResponseWriter
	r    *http.Request
	info *reqinfo.Info
	ctx  context.Context // the route's, bounded by its timeout
	ex   *exchange
	out  *http.Request // the current attempt's request
	t    *balancer.Target
	n    int // the current attempt, from 1

	body   *requestBody // nil without a request body
	replay *replayBody  // the replay buffer (nil: the policy keeps none)
	// retrying: the request holds a retry of the policy's budget.
	retrying  bool
	cancelTry context.CancelCauseFunc // the current attempt's, with PerTryTimeout
}

// keepBody sets up the request body's replay buffer, if the policy keeps
// one and the body can be retried at all.
func (a *attempts) keepBody() {
	if a.out.Body == nil {
		return
	}
	p := a.h.retry
	a.body = &a.ex.body
	if p.bufferBytes < 0 {
		return
	}
	// Allocated apart: most requests have no body or no policy.
	a.replay = &replayBody{src: a.body, limit: p.bufferBytes}
	if a.r.ContentLength > p.bufferBytes || (!p.nonIdempotent && !idempotent(a.r)) {
		// It cannot fit, or only a connect failure (nothing sent) could be
		// retried: keep nothing.
		a.replay.limit = 0
	}
	a.out.Body = a.replay.first()
}

// close ends the last attempt's per-try context and marks the body done.
func (a *attempts) close() {
	if a.cancelTry != nil {
		a.cancelTry(nil)
	}
	if a.body != nil {
		a.body.done.Store(true)
	}
}

// run makes attempts until one yields the response to relay, with its
// latency to response headers (what the balancer steers by). A nil
// response means the client has been answered (or is gone).
func (a *attempts) run() (*http.Response, time.Duration) {
	h := a.h
	for a.n = 1; ; a.n++ {
		res, latency, err := a.send()
		if err != nil {
			if errors.Is(err, ErrConnectionLimit) {
				a.t.End() // not the target's doing
				h.overloaded(a.w, a.r, a.info)
				return nil, 0
			}
			f := classify(err, a.r, a.body)
			h.finish(a.t, latency, f, 0)
			h.report(a.r, a.info, a.t, f, err)
			if c := errorCondition(err, f); f.upstreamFault() && h.retry.on&c != 0 {
				if again, answered := a.retry(c == onConnectFailure, c.String()); again {
					continue
				} else if answered {
					return nil, 0
				}
			}
			answer(a.w, a.r, f)
			return nil, 0
		}
		if h.retry.retriesStatus(res.StatusCode) {
			next, nb, wait, ok := a.decide(false)
			if ok {
				// Nothing of this response has reached the client.
				discardResponse(res)
				h.finish(a.t, latency, upstreamFailed, res.StatusCode)
				h.report(a.r, a.info, a.t, upstreamFailed, statusError(res.StatusCode))
				if !a.wait(next, statusText(res.StatusCode), wait) {
					answerCanceled(a.w, a.r)
					return nil, 0
				}
				a.retarget(next, nb)
				continue
			}
		}
		return res, latency
	}
}

// send makes the current attempt on a.t.
func (a *attempts) send() (*http.Response, time.Duration, error) {
	p := a.h.retry
	var timer *time.Timer
	if p.perTry > 0 {
		if a.cancelTry != nil {
			a.cancelTry(nil) // the previous attempt's
		}
		var tctx context.Context
		tctx, a.cancelTry = context.WithCancelCause(a.ctx)
		cancel := a.cancelTry
		timer = time.AfterFunc(p.perTry, func() { cancel(errPerTryTimeout) })
		a.out = a.out.WithContext(tctx)
	}
	a.t.Begin()
	if a.info != nil {
		a.info.Target = a.t.Addr
		a.info.Attempts++
	}
	start := time.Now()
	a.ex.interim.attempt(true)
	res, err := a.h.transport.RoundTrip(a.out)
	a.ex.interim.attempt(false)
	latency := time.Since(start)
	if timer != nil && !timer.Stop() {
		// The attempt ran out of time; a response that made it anyway has
		// its body cut off by the cancellation.
		if err == nil {
			res.Body.Close()
		}
		res, err = nil, errPerTryTimeout
	}
	return res, latency, err
}

// retry retries a failed attempt if the policy allows: again reports
// that the next attempt is set up; answered that the client was answered
// while waiting (the context ended).
func (a *attempts) retry(connectFailure bool, reason string) (again, answered bool) {
	next, nb, wait, ok := a.decide(connectFailure)
	if !ok {
		return false, false
	}
	if !a.wait(next, reason, wait) {
		answerCanceled(a.w, a.r)
		return false, true
	}
	a.retarget(next, nb)
	return true, false
}

// retarget points the next attempt at next, with the rewound body.
func (a *attempts) retarget(next *balancer.Target, body *attemptBody) {
	a.t, a.out = next, a.ex.retarget(next, body)
}

// decide says whether the current attempt, which failed on a.t, is
// retried and if so takes what the retry needs: another target, a share
// of the retry budget and the rewound request body (nil without a body).
// wait is the backoff before the retry. connectFailure says the target
// never saw the request.
func (a *attempts) decide(connectFailure bool) (next *balancer.Target, body *attemptBody, wait time.Duration, ok bool) {
	h, ctx, r, t, n, replay, retrying := a.h, a.ctx, a.r, a.t, a.n, a.replay, &a.retrying
	hasBody := a.out.Body != nil
	p := h.retry
	if n >= p.attempts || ctx.Err() != nil {
		return nil, nil, 0, false
	}
	if !(connectFailure && p.anyMethodOnConnect) && !p.nonIdempotent && !idempotent(r) {
		return nil, nil, 0, false
	}
	if hasBody && (replay == nil || !replay.replayable()) {
		return nil, nil, 0, false
	}
	if next = h.pool.Pick(r, t); next == nil && p.sameTarget {
		next = h.pool.Pick(r, nil)
	}
	if next == nil {
		return nil, nil, 0, false
	}
	wait = max(backoff(p.base, p.max, n, randN), p.min)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
		// The retry could not finish in time; the client is better served
		// by this attempt's answer than by a timeout.
		return nil, nil, 0, false
	}
	took := false
	if p.budget != nil && !*retrying {
		if !p.budget.tryRetry() {
			if h.onBudgetOut != nil {
				h.onBudgetOut()
			}
			return nil, nil, 0, false
		}
		*retrying, took = true, true
	}
	if hasBody {
		// Last, because it commits: the failed attempt loses its body.
		if body = replay.rewind(); body == nil {
			if took {
				p.budget.retries.Add(-1)
				*retrying = false
			}
			return nil, nil, 0, false
		}
	}
	return next, body, wait, true
}

// wait announces the retry of the current attempt from a.t to next and
// waits wait. It returns false if the context ended while waiting.
func (a *attempts) wait(next *balancer.Target, reason string, wait time.Duration) bool {
	h, ctx, r, info, t, n := a.h, a.ctx, a.r, a.info, a.t, a.n
	if h.onRetry != nil {
		h.onRetry()
	}
	var id string
	if info != nil {
		id = info.RequestID
	}
	// The default redispatch is told by its failed attempt's record alone,
	// as it always was; a policy's retries get their own.
	if h.retry != &defaultRetry {
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "proxy: retrying",
			slog.String("route", h.route),
			slog.String("target", t.Addr),
			slog.String("next_target", next.Addr),
			slog.String("reason", reason),
			slog.Int("attempt", n),
			slog.Duration("backoff", wait),
			slog.String("request_id", id),
		)
	}
	if wait <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
