// Package observe holds Gatehouse's telemetry: Prometheus metrics and the
// JSON access log.
package observe

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the gateway's Prometheus collectors, registered in their own
// registry so tests can build several gateways in one process.
type Metrics struct {
	Registry *prometheus.Registry

	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	inFlight       prometheus.Gauge
	retries        *prometheus.CounterVec
	budgetOut      *prometheus.CounterVec
	overflow       *prometheus.CounterVec
	staleConns     *prometheus.CounterVec
	staleRetries   *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	configInfo     *prometheus.GaugeVec
	limitDecisions *prometheus.CounterVec
	storeErrors    *prometheus.CounterVec
	cacheResults   *prometheus.CounterVec
	mirrors        *prometheus.CounterVec
	bodyTransforms *prometheus.CounterVec
	l4             *L4Metrics
	compose        *composeCollectors
}

// NewMetrics creates and registers the collectors, plus the Go runtime and
// process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_http_requests_total",
			Help: "HTTP requests served, by route, method and status class.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_http_request_duration_seconds",
			Help:    "Time from request received to response complete, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_errors_total",
			Help: "Failed attempts to reach an upstream target (connect, reset, timeout), by upstream and target.",
		}, []string{"upstream", "target"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_retries_total",
			Help: "Retries sent to an upstream.",
		}, []string{"upstream"}),
		budgetOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_retry_budget_exhausted_total",
			Help: "Retries not made because the upstream's retry budget was spent.",
		}, []string{"upstream"}),
		overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_circuit_breaker_overflow_total",
			Help: "Requests refused (503) by the upstream's circuit breaker.",
		}, []string{"upstream"}),
		staleConns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_stale_connections_total",
			Help: "Idle pooled HTTP/1 connections discarded before reuse because the upstream had closed them.",
		}, []string{"upstream"}),
		staleRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_upstream_stale_retries_total",
			Help: "Requests sent again on a fresh HTTP/1 connection after a reused one was found closed before any response byte.",
		}, []string{"upstream"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gatehouse_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_config_reloads_total",
			Help: "Configuration reloads, by result (ok or failed).",
		}, []string{"result"}),
		configInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful configuration load.",
		}, nil),
	}
	m.limitDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_limit_decisions_total",
		Help: "Rate limit, concurrency limit and quota decisions, by route, rule and result (allowed or limited).",
	}, []string{"route", "rule", "result"})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_limit_store_errors_total",
		Help: "Requests a limit policy decided without its shared store (error, timeout or open breaker), by route and policy.",
	}, []string{"route", "policy"})
	m.cacheResults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_cache_requests_total",
		Help: "Requests through a response cache, by route and X-Cache result (HIT, MISS, STALE, REVALIDATED, BYPASS).",
	}, []string{"route", "result"})
	m.mirrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_mirror_requests_total",
		Help: "Requests sampled for a request_mirror, by route, mirror upstream and result (sent: answered, response discarded; dropped: a bound was reached; error: no answer).",
	}, []string{"route", "upstream", "result"})
	m.bodyTransforms = newBodyTransforms()
	m.Registry.MustRegister(m.bodyTransforms)
	m.l4 = newL4Metrics()
	m.compose = newComposeCollectors()
	m.Registry.MustRegister(m.compose.collectors()...)
	m.Registry.MustRegister(m.l4.collectors()...)
	m.Registry.MustRegister(m.requests, m.duration, m.upstreamErrors, m.inFlight, m.reloads, m.configInfo,
		m.retries, m.budgetOut, m.overflow, m.staleConns, m.staleRetries, m.limitDecisions, m.storeErrors, m.cacheResults, m.mirrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// L4 is the TCP/UDP forwarding collectors.
func (m *Metrics) L4() *L4Metrics { return m.l4 }

// Reloaded counts a configuration load attempt.
func (m *Metrics) Reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
		m.configInfo.WithLabelValues().SetToCurrentTime()
		return
	}
	m.reloads.WithLabelValues("failed").Inc()
}

// InFlight is the gauge of requests being served.
func (m *Metrics) InFlight() prometheus.Gauge { return m.inFlight }

// UpstreamErrors returns the error counter of one upstream target, to be
// resolved once per target rather than per request.
func (m *Metrics) UpstreamErrors(upstream, target string) prometheus.Counter {
	return m.upstreamErrors.WithLabelValues(upstream, target)
}

// methods are the label values for the request method; anything else is
// "other", which bounds the label's cardinality against junk methods.
var methods = [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}

var classes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// RouteMetrics are one route's label children, resolved when the
// configuration is compiled so the request path does no map lookups.
type RouteMetrics struct {
	requests [len(methods)][len(classes)]prometheus.Counter
	duration prometheus.Observer
}

// Route resolves the children for route.
func (m *Metrics) Route(route string) *RouteMetrics {
	rm := &RouteMetrics{duration: m.duration.WithLabelValues(route)}
	for i, meth := range methods {
		for j, c := range classes {
			rm.requests[i][j] = m.requests.WithLabelValues(route, meth, c)
		}
	}
	return rm
}

// Observe records one finished request.
func (rm *RouteMetrics) Observe(method string, status int, d time.Duration) {
	c := status/100 - 1
	if c < 0 || c >= len(classes) {
		c = len(classes) - 1
	}
	rm.requests[methodIndex(method)][c].Inc()
	rm.duration.Observe(d.Seconds())
}

func methodIndex(m string) int {
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "PATCH":
		return 4
	case "DELETE":
		return 5
	case "OPTIONS":
		return 6
	}
	return 7
}

// UpstreamCounters are one upstream's resilience counters, resolved once.
type UpstreamCounters struct {
	Retries, BudgetExhausted, Overflow prometheus.Counter
	// StaleConns and StaleRetries count the HTTP/1 client's idle
	// connections found closed by the upstream, and its retries on a fresh
	// connection (same target) after a reused one failed.
	StaleConns, StaleRetries prometheus.Counter
}

// Upstream resolves the resilience counters of upstream.
func (m *Metrics) Upstream(upstream string) UpstreamCounters {
	return UpstreamCounters{
		Retries:         m.retries.WithLabelValues(upstream),
		BudgetExhausted: m.budgetOut.WithLabelValues(upstream),
		Overflow:        m.overflow.WithLabelValues(upstream),
		StaleConns:      m.staleConns.WithLabelValues(upstream),
		StaleRetries:    m.staleRetries.WithLabelValues(upstream),
	}
}

// LimitCounters counts one route's limit decisions by rule. Rule names
// come from the policies (defaults included), so children are resolved on
// first sight and kept in a copy-on-write map: the request path does one
// map read and an increment.
type LimitCounters struct {
	vec   *prometheus.CounterVec
	route string
	mu    sync.Mutex // serialises copies of byRule
	rules atomic.Pointer[map[string]*[2]prometheus.Counter]
}

// Limits returns the route's limit decision counters.
func (m *Metrics) Limits(route string) *LimitCounters {
	lc := &LimitCounters{vec: m.limitDecisions, route: route}
	lc.rules.Store(&map[string]*[2]prometheus.Counter{})
	return lc
}

// Decision counts one decision of rule.
func (lc *LimitCounters) Decision(rule string, allowed bool) {
	c, ok := (*lc.rules.Load())[rule]
	if !ok {
		c = lc.add(rule)
	}
	if allowed {
		c[0].Inc()
	} else {
		c[1].Inc()
	}
}

func (lc *LimitCounters) add(rule string) *[2]prometheus.Counter {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	old := *lc.rules.Load()
	if c, ok := old[rule]; ok {
		return c
	}
	c := &[2]prometheus.Counter{lc.vec.WithLabelValues(lc.route, rule, "allowed"), lc.vec.WithLabelValues(lc.route, rule, "limited")}
	next := make(map[string]*[2]prometheus.Counter, len(old)+1)
	maps.Copy(next, old)
	next[rule] = c
	lc.rules.Store(&next)
	return c
}

// StoreErrors returns the counter of requests the route's policy decided
// without its store.
func (m *Metrics) StoreErrors(route, policy string) prometheus.Counter {
	return m.storeErrors.WithLabelValues(route, policy)
}

// CacheResults returns the route's cache counters by X-Cache value,
// resolved once so the request path only increments.
func (m *Metrics) CacheResults(route string, results ...string) map[string]prometheus.Counter {
	out := make(map[string]prometheus.Counter, len(results))
	for _, r := range results {
		out[r] = m.cacheResults.WithLabelValues(route, r)
	}
	return out
}

// MirrorCounters are one route's counters for one mirror upstream.
type MirrorCounters struct {
	Sent, Dropped, Error prometheus.Counter
}

// Mirror resolves the counters of route's mirror to upstream.
func (m *Metrics) Mirror(route, upstream string) MirrorCounters {
	return MirrorCounters{
		Sent:    m.mirrors.WithLabelValues(route, upstream, "sent"),
		Dropped: m.mirrors.WithLabelValues(route, upstream, "dropped"),
		Error:   m.mirrors.WithLabelValues(route, upstream, "error"),
	}
}
