package ratelimit

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Header names in canonical form, so they index http.Header directly.
const (
	hLimit      = "Ratelimit-Limit"
	hRemaining  = "Ratelimit-Remaining"
	hReset      = "Ratelimit-Reset"
	hPolicy     = "Ratelimit-Policy"
	hRetryAfter = "Retry-After"
)

// setHeaders writes the IETF draft RateLimit-* fields: the bucket size,
// what remains, and the delta seconds until it is full again.
// The values share one backing array: one allocation, not four.
func (l *Limiter) setHeaders(h http.Header, res store.RateResult) {
	vals := [...]string{
		strconv.FormatInt(res.Limit, 10),
		strconv.FormatInt(max(res.Remaining, 0), 10),
		strconv.FormatInt(ceilSeconds(res.ResetAfter), 10),
		l.policy,
	}
	h[hLimit] = vals[0:1:1]
	h[hRemaining] = vals[1:2:2]
	h[hReset] = vals[2:3:3]
	h[hPolicy] = vals[3:4:4]
}

// tooMany answers 429 with Retry-After in whole seconds, rounded up and
// at least 1 (a client retrying after 0 would only be refused again).
func tooMany(w http.ResponseWriter, r *http.Request, rule string, retry time.Duration) {
	secs := max(ceilSeconds(retry), 1)
	w.Header()[hRetryAfter] = []string{strconv.FormatInt(secs, 10)}
	problem.WriteDetails(w, r, problem.Details{
		Status: http.StatusTooManyRequests,
		Detail: fmt.Sprintf("rate limit %q exceeded; retry in %d s", rule, secs),
	})
}

// unavailable answers 503 under FailClosed: the limiter could not
// decide. It is not the client's fault, so never 429.
func unavailable(w http.ResponseWriter, r *http.Request) {
	w.Header()[hRetryAfter] = []string{"1"}
	problem.Write(w, r, http.StatusServiceUnavailable, "rate limiting is temporarily unavailable")
}

// ceilSeconds rounds d up to whole seconds (0 for d ≤ 0).
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
