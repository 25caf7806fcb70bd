package config

import "time"

// This file holds the traffic-control part of the schema: rate limits,
// concurrency limits, quotas, plans and response caching.

// Plan is a usage plan: rate limits and a quota that consumers on the
// plan get on routes whose policies say use_plan.
type Plan struct {
	Pos        Pos         `yaml:"-"`
	Name       string      `yaml:"name"`
	RateLimits []*RateRule `yaml:"rate_limits"`
	Quota      *QuotaRule  `yaml:"quota"`
}

// RateLimit is a route's rate limiting: one rule inline and/or several
// under limits; a request must pass them all.
type RateLimit struct {
	Pos      Pos `yaml:"-"`
	RateRule `yaml:",inline"`
	Limits   []*RateRule `yaml:"limits"`
	// UsePlan replaces the route's rules by the consumer's plan's rate
	// limits when the consumer has a plan with some.
	UsePlan bool `yaml:"use_plan"`
	// Fail is what happens when the shared store cannot answer: open
	// (allow), closed (503) or local (default: each instance enforces
	// limit ÷ store.instances in memory).
	Fail    string        `yaml:"fail"`
	Timeout time.Duration `yaml:"timeout"`
	// Headers sends RateLimit-Limit/-Remaining/-Reset (default true).
	Headers bool `yaml:"headers"`
	// Local keeps the counters in memory even when store.redis is set.
	Local bool `yaml:"local"`
}

// RateRule is one limit: Limit requests per Window.
type RateRule struct {
	Pos    Pos           `yaml:"-"`
	Name   string        `yaml:"name"`
	Limit  int64         `yaml:"limit"`
	Window time.Duration `yaml:"window"`
	// Burst turns on GCRA with this bucket size; without it the limit is
	// a sliding window (at most Limit in any Window).
	Burst int64 `yaml:"burst"`
	// Algorithm is sliding_window (default) or gcra (default with burst).
	Algorithm string `yaml:"algorithm"`
	// Key is what the limit counts by: client_ip (default), consumer,
	// api_key, route, header:NAME, claim:NAME, query:NAME, or several
	// joined with "+", e.g. "consumer+header:X-Tenant".
	Key  string `yaml:"key"`
	Cost int64  `yaml:"cost"`
}

// ConcurrencyLimit caps requests in flight per key on each instance.
type ConcurrencyLimit struct {
	Pos Pos    `yaml:"-"`
	Max int    `yaml:"max"`
	Key string `yaml:"key"`
}

// Quota is a route's quota.
type Quota struct {
	Pos       Pos `yaml:"-"`
	QuotaRule `yaml:",inline"`
	UsePlan   bool          `yaml:"use_plan"`
	Fail      string        `yaml:"fail"`
	Timeout   time.Duration `yaml:"timeout"`
}

// QuotaRule is Limit requests per calendar day or month (UTC), or per
// rolling Window.
type QuotaRule struct {
	Pos    Pos           `yaml:"-"`
	Limit  int64         `yaml:"limit"`
	Period string        `yaml:"period"`
	Window time.Duration `yaml:"window"`
	Key    string        `yaml:"key"`
}

// Cache caches the route's responses.
type Cache struct {
	Pos                  Pos           `yaml:"-"`
	TTL                  time.Duration `yaml:"ttl"`
	OverrideTTL          bool          `yaml:"override_ttl"`
	StaleWhileRevalidate time.Duration `yaml:"stale_while_revalidate"`
	StaleIfError         time.Duration `yaml:"stale_if_error"`
	Methods              []string      `yaml:"methods"`
	Statuses             []int         `yaml:"statuses"`
	KeyHeaders           []string      `yaml:"key_headers"`
	KeyConsumer          bool          `yaml:"key_consumer"`
	CacheAuthenticated   bool          `yaml:"cache_authenticated"`
	MaxBodyBytes         int64         `yaml:"max_body_bytes" gatehouse:"size"`
	// Local keeps entries in this instance's memory even with store.redis.
	Local bool `yaml:"local"`
	// CacheControlField is a response field of the operator's own that
	// targets this cache (RFC 9213), winning over CDN-Cache-Control.
	CacheControlField string `yaml:"cache_control_field"`
	// KeepForRevalidation keeps stale entries with validators (default
	// 24h, owned by the cache package).
	KeepForRevalidation time.Duration `yaml:"keep_for_revalidation"`
	// HeuristicPercent enables heuristic freshness from Last-Modified.
	HeuristicPercent int           `yaml:"heuristic_percent"`
	HeuristicMax     time.Duration `yaml:"heuristic_max"`
	// ExplicitStatuses stores any final status with explicit freshness.
	ExplicitStatuses bool `yaml:"explicit_statuses"`
	// StoreAuthorized stores responses to requests with Authorization
	// when marked public, s-maxage or must-revalidate.
	StoreAuthorized bool `yaml:"store_authorized"`
	// VaryFoldCase compares Vary'd request header values case-insensitively.
	VaryFoldCase bool `yaml:"vary_fold_case"`
}
