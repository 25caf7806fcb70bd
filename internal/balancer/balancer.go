package balancer

import (
	"fmt"
	"net/http"
	"sort"
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
	// default when empty), "header", "cookie" or "query".
	HashOn string
	// HashKey names the header, cookie or query parameter HashOn reads.
	// Required unless HashOn is "client_ip".
	HashKey string
	// HashFallback names the algorithm that picks for requests carrying no
	// key (an absent or empty header, cookie or parameter): any algorithm
	// but "hash". Empty means "random", which spreads keyless requests by
	// weight without the lock weighted_round_robin takes.
	HashFallback string
}

// Hash key sources accepted in Options.HashOn.
const (
	HashOnClientIP = "client_ip"
	HashOnHeader   = "header"
	HashOnCookie   = "cookie"
	HashOnQuery    = "query"
)

// builder is what factories hold: every algorithm sees the options so that
// New and NewWithOptions share one registry.
type builder func(targets []*Target, o Options) (Balancer, error)

// plain adapts a Factory, whose algorithm has no options, to a builder.
func plain(f Factory) builder {
	return func(ts []*Target, _ Options) (Balancer, error) { return f(ts), nil }
}

// factories is the registry of algorithms by their configuration name.
// It is filled here rather than by init functions in each file so the full
// list is visible in one place.
var factories map[string]builder

func init() {
	// Assigned in init because the hash builder refers back to factories
	// (for its fallback), which a map literal initialiser cannot.
	factories = map[string]builder{
		"round_robin":          plain(func(ts []*Target) Balancer { return NewRoundRobin(ts) }),
		"weighted_round_robin": plain(func(ts []*Target) Balancer { return NewWeightedRoundRobin(ts) }),
		"least_request":        plain(func(ts []*Target) Balancer { return NewLeastRequest(ts) }),
		"random":               plain(func(ts []*Target) Balancer { return NewRandom(ts) }),
		"p2c_ewma":             plain(func(ts []*Target) Balancer { return NewP2CEWMA(ts) }),
		"hash":                 func(ts []*Target, o Options) (Balancer, error) { return NewHash(ts, o) },
	}
}

// New builds the balancer named algorithm over targets with zero Options.
func New(algorithm string, targets []*Target) (Balancer, error) {
	return NewWithOptions(algorithm, targets, Options{})
}

// NewWithOptions builds the balancer named algorithm over targets, tuned by o.
func NewWithOptions(algorithm string, targets []*Target, o Options) (Balancer, error) {
	f, ok := factories[algorithm]
	if !ok {
		return nil, fmt.Errorf("balancing algorithm %q is not implemented (have %v)", algorithm, Algorithms())
	}
	return f(targets, o)
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
