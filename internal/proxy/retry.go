package proxy

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// RetryPolicy says when a failed attempt is tried again on another target
// of the pool. A route without one keeps the default: one retry on another
// target for an idempotent request without a body whose attempt failed to
// connect or was reset before any response byte (HAProxy's redispatch).
//
// Every retry goes to a target other than the one that just failed; when
// the pool has none, the failure stands. The client always gets the last
// attempt's response or error.
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
	if p.PerTryTimeout < 0 || p.BackoffBase < 0 || p.BackoffMax < 0 {
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

// Budget caps the retries to one upstream to a share of its live requests,
// as Envoy's and Finagle's retry budgets do: a retry may start while the
// requests in a retry are fewer than max(MinRetries, Ratio × active
// requests), rounded down. When an upstream fails wholesale, retries then
// add a fraction of load instead of multiplying it by Attempts. A request
// counts against the budget from its first retry until it ends. Share one
// Budget among every route to the upstream; it is safe for concurrent use
// and lock-free.
type Budget struct {
	ratioPPM int64 // Ratio in parts per million: integer arithmetic, no float rounding at the boundary
	min      int64
	active   atomic.Int64
	retries  atomic.Int64
}

// NewBudget returns a budget allowing ratio (e.g. 0.2) of the upstream's
// active requests to be retries, and at least minConcurrent retries
// whatever the load (so a quiet upstream can still retry).
func NewBudget(ratio float64, minConcurrent int) *Budget {
	if !(ratio > 0) { // also NaN
		ratio = 0
	}
	return &Budget{ratioPPM: int64(min(ratio, 1e6)*1e6 + 0.5), min: int64(max(minConcurrent, 0))}
}

// Active is the number of requests to the upstream in progress.
func (b *Budget) Active() int64 { return b.active.Load() }

// Retries is the number of requests in a retry.
func (b *Budget) Retries() int64 { return b.retries.Load() }

// limit is the number of concurrent retries allowed with active requests.
func (b *Budget) limit(active int64) int64 {
	return max(b.min, b.ratioPPM*active/1_000_000)
}

// tryRetry takes a retry from the budget, or reports there is none left.
func (b *Budget) tryRetry() bool {
	for {
		cur := b.retries.Load()
		if cur >= b.limit(b.active.Load()) {
			return false
		}
		if b.retries.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// begin counts an active request; end ends it, returning its retry if it
// held one.
func (b *Budget) begin() { b.active.Add(1) }

func (b *Budget) end(retrying *bool) {
	if *retrying {
		b.retries.Add(-1)
	}
	b.active.Add(-1)
}

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
