// Package ratelimit limits how fast clients may call a route (Limiter)
// and how many of their requests may be in flight at once (Concurrency).
//
// A Limiter checks every request against one or more rules, each a
// store.Limit counted under a key derived from the request (client IP,
// consumer, API key, header, claim, query parameter, route, or a
// combination). Decisions are made by a store.Store: Redis makes many
// gateway instances act as one, Memory keeps them per instance.
//
// The shared store may fail. The limiter never turns that into a 500 or
// a long wait: every store call has a short deadline, a circuit breaker
// stops calling a store that keeps failing, and the configured FailMode
// decides the request instead (allow, refuse with 503, or decide with an
// in-process store at Rate ÷ Instances). Failures are reported to a
// metrics hook apart from limit refusals, and logged at most once per
// interval.
package ratelimit
