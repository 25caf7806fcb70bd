package balancer

import (
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Balancer chooses a target for a request. Implementations are built for a
// fixed target list (a new one is built when the list changes) and must be
// safe for concurrent use and cheap: Pick runs on every request.
type Balancer interface {
	// Pick returns an available target for r other than skip (the target a
	// failed attempt used; nil on the first attempt), or nil if none is
	// available. r may be nil; algorithms that read the request then behave
	// as if it carried no key.
	Pick(r *http.Request, skip *Target) *Target
}

// Factory builds a Balancer over targets for an algorithm that takes no
// options.
type Factory func(targets []*Target) Balancer

// Options tunes the algorithms that need more than a target list. The zero
// value is valid, and is what New uses; algorithms ignore the fields that
// are not theirs.
type Options struct {
	// HashOn selects the key the hash algorithm reads: "client_ip" (the
	// default when empty), "sni", "header", "cookie" or "query".
	HashOn string
	// HashKey names the header, cookie or query parameter HashOn reads.
	// Required unless HashOn is "client_ip".
	HashKey string
	// HashFallback names the algorithm that picks for requests carrying no
	// key (an absent or empty header, cookie or parameter): any algorithm
	// but "hash". Empty means "random", which spreads keyless requests by
	// weight without the lock weighted_round_robin takes.
	HashFallback string

	// SlowStart is the window over which a target that becomes available
	// (added by a reload to a serving pool, or back from down) ramps from
	// about 10% to its full weight; 0 turns slow start off. It applies to
	// every algorithm but hash (see slowstart.go).
	SlowStart time.Duration
	// SlowStartAggression shapes the ramp as Envoy's aggression does: the
	// factor is (elapsed/window)^(1/aggression). 0 or 1 is linear; above 1
	// a target gets most of its share early, below 1 late.
	SlowStartAggression float64

	// Sticky, when set, wraps the algorithm in cookie affinity: a request
	// carrying a valid cookie goes to the target it names while that
	// target is available, and Pool.Pin issues the cookies. A pointer, so
	// Options stays comparable.
	Sticky *StickyConfig

	// SpreadWhenNoneHealthy, when no target of any priority group is
	// available, spreads requests over every target that is not being
	// drained, as Envoy's panic mode does, instead of failing (503).
	SpreadWhenNoneHealthy bool
}

// Hash key sources accepted in Options.HashOn.
const (
	HashOnClientIP = "client_ip"
	HashOnHeader   = "header"
	HashOnCookie   = "cookie"
	HashOnQuery    = "query"
	// HashOnSNI hashes the TLS server name: of an L4 connection (read from
	// its ClientHello) or of an HTTPS request's connection.
	HashOnSNI = "sni"
)

// builder is what factories hold: every algorithm sees the options so that
// New and NewWithOptions share one registry.
type builder func(targets []*Target, o Options) (Balancer, error)

// factories is the registry of algorithms by their configuration name.
// It is filled here rather than by init functions in each file so the full
// list is visible in one place.
var factories map[string]builder

func init() {
	// Assigned in init because the hash builder refers back to factories
	// (for its fallback), which a map literal initialiser cannot.
	factories = map[string]builder{
		"round_robin": ramped(func(ts []*Target, s slowStart) Balancer {
			b := NewRoundRobin(ts)
			b.slow = s
			return b
		}),
		"weighted_round_robin": ramped(func(ts []*Target, s slowStart) Balancer {
			b := NewWeightedRoundRobin(ts)
			b.slow = s
			return b
		}),
		"least_request": ramped(func(ts []*Target, s slowStart) Balancer {
			b := NewLeastRequest(ts)
			b.slow = s
			b.sampler.slow = s
			return b
		}),
		"random": ramped(func(ts []*Target, s slowStart) Balancer {
			b := NewRandom(ts)
			b.s.slow = s
			return b
		}),
		"p2c_ewma": ramped(func(ts []*Target, s slowStart) Balancer {
			b := NewP2CEWMA(ts)
			b.slow = s
			return b
		}),
		"hash": func(ts []*Target, o Options) (Balancer, error) { return NewHash(ts, o) },
	}
	factories[leastConnections] = factories["least_request"] // see leastconn.go
}

// ramped adapts the constructor of an algorithm whose only option is slow
// start to a builder.
func ramped(f func([]*Target, slowStart) Balancer) builder {
	return func(ts []*Target, o Options) (Balancer, error) {
		s, err := newSlowStart(o)
		if err != nil {
			return nil, err
		}
		return f(ts, s), nil
	}
}

// New builds the balancer named algorithm over targets with zero Options.
func New(algorithm string, targets []*Target) (Balancer, error) {
	return NewWithOptions(algorithm, targets, Options{})
}

// NewWithOptions builds the balancer named algorithm over targets, tuned by
// o; with o.Sticky set, the result is a *Sticky around that algorithm.
func NewWithOptions(algorithm string, targets []*Target, o Options) (Balancer, error) {
	f, ok := factories[algorithm]
	if !ok {
		return nil, fmt.Errorf("balancing algorithm %q is not implemented (have %v)", algorithm, Algorithms())
	}
	if o.Sticky != nil {
		if err := o.Sticky.validate(); err != nil {
			return nil, err
		}
	}
	b, err := f(targets, o)
	if err != nil || o.Sticky == nil {
		return b, err
	}
	return NewSticky(b, targets, *o.Sticky), nil
}

// Algorithms lists the names New accepts, sorted.
func Algorithms() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
