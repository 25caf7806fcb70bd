package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// ConcurrencyConfig configures a Concurrency limit.
type ConcurrencyConfig struct {
	// Route names the route (for the 429 detail).
	Route string
	// Max is how many requests of one key may be in flight at once on
	// this instance.
	Max int
	// Key is what in-flight requests are counted by (see Keyer); empty
	// means one count for the whole route.
	Key []KeyPart
	// OnDecision, when set, is called for every request with whether it
	// was let through.
	OnDecision func(allowed bool)
}

// Concurrency caps in-flight requests per key on one instance. Counts
// live in memory only: they measure this process's load, and a request
// that is released must never wait on a remote store. It is safe for
// concurrent use.
type Concurrency struct {
	route      string
	max        int
	keyer      *Keyer
	onDecision func(bool)

	mu sync.Mutex
	// inflight holds only keys with requests in flight, so it is bounded
	// by the number of concurrent requests.
	inflight map[string]int
}

// NewConcurrency checks cfg.
func NewConcurrency(cfg ConcurrencyConfig) (*Concurrency, error) {
	if cfg.Max < 1 {
		return nil, errors.New("concurrency_limit: max must be at least 1")
	}
	k, err := NewKeyer(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("concurrency_limit: %w", err)
	}
	return &Concurrency{route: cfg.Route, max: cfg.Max, keyer: k, onDecision: cfg.OnDecision,
		inflight: make(map[string]int)}, nil
}

// Wrap lets at most Max requests per key into next at once and answers
// the others 429 problem+json with Retry-After: 1. A slot is released
// when next returns, including by panic.
func (c *Concurrency) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [128]byte
		key := string(c.keyer.AppendKey(buf[:0], r))
		ok := c.acquire(key)
		if c.onDecision != nil {
			c.onDecision(ok)
		}
		if !ok {
			w.Header()[hRetryAfter] = []string{"1"}
			problem.Write(w, r, http.StatusTooManyRequests,
				fmt.Sprintf("too many concurrent requests (at most %d in flight)", c.max))
			return
		}
		defer c.release(key)
		next.ServeHTTP(w, r)
	})
}

func (c *Concurrency) acquire(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.inflight[key]
	if n >= c.max {
		return false
	}
	c.inflight[key] = n + 1
	return true
}

func (c *Concurrency) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.inflight[key]; n > 1 {
		c.inflight[key] = n - 1
	} else {
		delete(c.inflight, key)
	}
}

// InFlight returns how many requests of key are in flight (for tests
// and status pages).
func (c *Concurrency) InFlight(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inflight[key]
}
