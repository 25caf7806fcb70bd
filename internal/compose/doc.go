// Package compose answers one request from several backend calls: the
// `compose` action. Steps form a DAG (needs); a step starts as soon as
// the steps it needs have finished, not level by level, so independent
// steps overlap and the composition costs about its slowest path. A step
// may fan out over an array (for_each) with bounded concurrency, and its
// results are collected in element order.
//
// Every call goes through an http.Handler the gateway provides: the proxy
// of an upstream (so balancing, health, retries and the breaker apply) or
// the listener's own entry (route-relative steps, policies included). The
// answer is buffered up to a bound per step, decoded as JSON, shaped, and
// merged in step order — never in completion order, so the body does not
// depend on timing.
//
// Trade-offs: a step's whole response is buffered (bounded by
// MaxBodyBytes) because it must be decoded before merging; the composed
// answer is written once with a Content-Length. A failed step either
// fails the request (502 naming the step), is omitted, or is replaced by
// a default: the choice is per step and the client learns about missing
// steps from the Gatehouse-Missing-Steps header.
package compose
