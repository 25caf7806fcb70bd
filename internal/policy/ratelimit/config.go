package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Key part kinds.
const (
	// KindClientIP is the client address the listener resolved through
	// trusted proxies (reqinfo.Info.ClientIP).
	KindClientIP = "client_ip"
	// KindConsumer is the authenticated identity's name (consumer name, or
	// subject when no consumer is configured for it).
	KindConsumer = "consumer"
	// KindAPIKey is a SHA-256 digest of the API key the request carries in
	// the header Name (default X-Api-Key); the raw key is never stored.
	KindAPIKey = "api_key"
	// KindHeader is the first value of request header Name.
	KindHeader = "header"
	// KindClaim is top-level claim Name of the identity's token (string,
	// number or boolean claims only).
	KindClaim = "claim"
	// KindRoute is the matched route's name.
	KindRoute = "route"
	// KindQuery is the first value of query parameter Name.
	KindQuery = "query"
)

// DefaultAPIKeyHeader is where a KindAPIKey part reads the key when its
// Name is empty (the api_key authentication's default).
const DefaultAPIKeyHeader = "X-Api-Key"

// KeyPart is one component of a limit key.
type KeyPart struct {
	// Kind is one of the Kind* constants.
	Kind string
	// Name is the header, claim or query parameter name; for api_key an
	// optional header name; empty for the other kinds.
	Name string
}

// Rule is one limit a request must pass.
type Rule struct {
	// Name labels the rule in keys, metrics and the 429 detail, e.g.
	// "per-second". Default "<rate>-per-<period>". Unique within a Config.
	Name string
	// Limit is the algorithm, rate, period and (GCRA) burst. A GCRA limit
	// without a Burst gets Burst = Rate.
	Limit store.Limit
	// Key is what the rule counts by: the parts combined. Empty means one
	// counter for the whole route.
	Key []KeyPart
	// Cost is what one request consumes, default 1.
	Cost int64
}

// FailMode is what a limiter does when its shared store cannot answer
// (an error, a timeout, or the circuit breaker is open).
type FailMode string

const (
	// FailOpen allows the request (and reports the failure).
	FailOpen FailMode = "open"
	// FailClosed refuses the request with 503 — never 429, since the
	// client did not exceed anything.
	FailClosed FailMode = "closed"
	// FailLocal decides with Config.Local, each instance enforcing
	// Rate ÷ Instances so that the fleet stays near the intended limit.
	FailLocal FailMode = "local"
)

// BreakerConfig tunes the circuit breaker around a shared store.
type BreakerConfig struct {
	// Failures is how many consecutive failed calls open the breaker,
	// default 5.
	Failures int
	// OpenFor is how long an open breaker skips the store before one
	// probe call is let through (half-open), default 1s.
	OpenFor time.Duration
}

const (
	// DefaultTimeout bounds one store decision when Config.Timeout is 0.
	DefaultTimeout  = 20 * time.Millisecond
	defaultFailures = 5
	defaultOpenFor  = time.Second
	// DefaultLogEvery is the least interval between two store-failure log
	// lines of one policy.
	DefaultLogEvery = 10 * time.Second
)

func (b BreakerConfig) withDefaults() (BreakerConfig, error) {
	if b.Failures < 0 || b.OpenFor < 0 {
		return b, errors.New("breaker failures and open duration must not be negative")
	}
	if b.Failures == 0 {
		b.Failures = defaultFailures
	}
	if b.OpenFor == 0 {
		b.OpenFor = defaultOpenFor
	}
	return b, nil
}

// Config configures a Limiter.
type Config struct {
	// Route names the route; it prefixes every key ("rl:<route>:<rule>:").
	Route string
	// Rules are the limits; a request must pass them all. They are
	// checked shortest period first and checking stops at the first
	// refusal, so a request refused by a short rule (10 per second)
	// consumes nothing from the long ones (1000 per hour). What shorter
	// rules admitted before a longer one refuses is not refunded: that
	// costs a refused client a little of a window that soon resets, and
	// saves a second store round trip per request.
	Rules []Rule
	// Store decides; usually shared (Redis). When nil, Local decides and
	// the limit is per instance (FailMode then does not apply).
	Store store.Store
	// Local is an in-process store for FailLocal, or the only store when
	// Store is nil.
	Local store.Store
	// Timeout bounds each Store call, default 20ms.
	Timeout time.Duration
	// FailMode applies when Store cannot answer. Default FailLocal when
	// both Store and Local are set, else FailOpen.
	FailMode FailMode
	// Instances is how many gateway instances share Store: under
	// FailLocal each enforces Rate ÷ Instances (and Burst ÷ Instances),
	// at least 1. Default 1.
	Instances int
	// Breaker tunes the circuit breaker around Store.
	Breaker BreakerConfig
	// Headers sends RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset
	// (delta seconds) and RateLimit-Policy on every decided response. The
	// configuration layer defaults it to true; the zero value sends none.
	// Retry-After is sent with every 429 regardless.
	Headers bool
	// OnDecision, when set, is called for every rule a request was checked
	// against, with the outcome: limit refusals are counted here.
	OnDecision func(rule string, allowed bool)
	// OnError, when set, is called once for every request decided without
	// Store (its error, or ErrBreakerOpen): limiter errors, counted apart.
	OnError func(err error)
	// Logger receives store failures (at most one line per LogEvery) and
	// recoveries. Default slog.Default().
	Logger *slog.Logger
	// LogEvery is the least interval between two failure lines, default
	// DefaultLogEvery.
	LogEvery time.Duration
	// Now is the clock for the breaker and log throttle (tests); default
	// time.Now.
	Now func() time.Time
}

// ParseKey parses a configuration key spec such as
// "consumer+header:X-Tenant" (kinds joined by "+", names after ":").
func ParseKey(spec string) ([]KeyPart, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	var parts []KeyPart
	for s := range strings.SplitSeq(spec, "+") {
		kind, name, _ := strings.Cut(strings.TrimSpace(s), ":")
		p := KeyPart{Kind: strings.TrimSpace(kind), Name: strings.TrimSpace(name)}
		if err := p.check(); err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// check validates one part.
func (p KeyPart) check() error {
	switch p.Kind {
	case KindClientIP, KindConsumer, KindRoute:
		if p.Name != "" {
			return fmt.Errorf("key part %s takes no name (got %q)", p.Kind, p.Name)
		}
	case KindHeader, KindAPIKey:
		if p.Kind == KindHeader && p.Name == "" {
			return errors.New("key part header needs a header name")
		}
		if p.Name != "" && !h1wire.IsToken(p.Name) {
			return fmt.Errorf("key part %s: %q is not a valid header name", p.Kind, p.Name)
		}
	case KindClaim, KindQuery:
		if p.Name == "" {
			return fmt.Errorf("key part %s needs a name", p.Kind)
		}
	default:
		return fmt.Errorf("unknown key part kind %q (use client_ip, consumer, api_key, header, claim, route or query)", p.Kind)
	}
	return nil
}
