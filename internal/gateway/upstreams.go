package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/discovery"
	"github.com/gatehouse/gatehouse/internal/h1client"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// upstream is a pool plus the transport that reaches its targets. Both are
// kept across reloads (keyed by name) so connections, health and balancer
// state survive; the transport is rebuilt only when its settings change.
type upstream struct {
	pool      *balancer.Pool
	transport http.RoundTripper
	key       transportKey
	resolver  *discovery.Resolver // nil without discovery

	mu     sync.Mutex // serialises target changes: reloads and DNS answers
	health upstreamHealth

	// Resilience state shared by the upstream's routes, kept across
	// reloads while its settings are unchanged.
	budget     *proxy.Budget
	budgetKey  config.RetryBudget
	breaker    *proxy.Breaker
	breakerKey config.CircuitBreaker
	counters   observe.UpstreamCounters
}

// updateResilience rebuilds the retry budget and circuit breaker when
// their settings changed.
func (cur *upstream) updateResilience(u *config.Upstream) {
	if b := *u.RetryBudget; cur.budget == nil || b != cur.budgetKey {
		cur.budget, cur.budgetKey = proxy.NewBudget(b.Ratio, b.MinConcurrent), b
	}
	var k config.CircuitBreaker
	if u.CircuitBreaker != nil {
		k = *u.CircuitBreaker
		k.Pos = config.Pos{}
	}
	if k != cur.breakerKey || (u.CircuitBreaker != nil) != (cur.breaker != nil) {
		cur.breaker, cur.breakerKey = nil, k
		if u.CircuitBreaker != nil {
			cur.breaker = proxy.NewBreaker(proxy.BreakerLimits{MaxInFlight: k.MaxInFlight, MaxPending: k.MaxPending})
		}
	}
}

// setTargets gives the pool a new target list, keeps health checking in
// step and drains the targets that left.
func (g *Gateway) setTargets(cur *upstream, u *config.Upstream, targets []*balancer.Target, grace time.Duration) error {
	cur.mu.Lock()
	defer cur.mu.Unlock()
	removed, err := cur.pool.UpdateWithOptions(u.Balance, targets, balancerOptions(u, g.stickyKey))
	if err != nil {
		return err
	}
	if err := g.updateHealth(cur, u, cur.pool.Targets()); err != nil {
		return fmt.Errorf("health: %w", err)
	}
	rt := cur.transport
	for _, t := range removed {
		g.wg.Add(1)
		go func() { defer g.wg.Done(); g.drain(t, rt, grace) }()
	}
	return nil
}

// startDiscovery resolves the upstream's target names now and again every
// interval; each new answer replaces the pool's targets.
func (g *Gateway) startDiscovery(cur *upstream, u *config.Upstream, grace time.Duration) error {
	specs := make([]discovery.Spec, 0, len(u.Targets))
	for _, t := range u.Targets {
		pu, err := url.Parse(t.URL)
		if err != nil {
			return err
		}
		port, _ := strconv.Atoi(pu.Port())
		specs = append(specs, discovery.Spec{Scheme: pu.Scheme, Host: pu.Hostname(), Port: port, Weight: t.Weight, SRV: u.Discovery.SRV})
	}
	onChange := func(eps []discovery.Endpoint) {
		ts := make([]*balancer.Target, len(eps))
		for i, e := range eps {
			ts[i] = balancer.NewTarget(e.URL, e.Weight)
		}
		if err := g.setTargets(cur, u, ts, grace); err != nil {
			g.log.Error("discovery: cannot apply new targets", "upstream", u.Name, "error", err)
			return
		}
		g.log.Info("discovery: targets changed", "upstream", u.Name, "targets", len(ts))
	}
	r := discovery.New(specs, u.Discovery.Interval, nil, onChange, g.log)
	if err := r.Start(context.Background()); err != nil {
		return err
	}
	cur.resolver = r
	return nil
}

// transportKey is everything a transport is built from; equal keys share
// the transport across a reload.
type transportKey struct {
	protocol                              string
	caFile, serverName, certFile, keyFile string
	insecure                              bool
	connect, idle, responseHeader         time.Duration
	maxIdle                               int
	caStamp, certStamp                    time.Time
}

func fileStamp(path string) time.Time {
	if path == "" {
		return time.Time{}
	}
	if fi, err := os.Stat(path); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}

func newTransportKey(u *config.Upstream) transportKey {
	k := transportKey{protocol: u.Protocol, connect: u.ConnectTimeout, idle: u.IdleTimeout,
		responseHeader: u.ResponseHeaderTimeout, maxIdle: u.MaxIdlePerTarget}
	if t := u.TLS; t != nil {
		k.caFile, k.serverName, k.certFile, k.keyFile, k.insecure = t.CAFile, t.ServerName, t.CertFile, t.KeyFile, t.InsecureSkipVerify
		k.caStamp, k.certStamp = fileStamp(t.CAFile), fileStamp(t.CertFile)
	}
	return k
}

// upstreamTLS builds the client TLS configuration of an upstream.
func upstreamTLS(u *config.Upstream) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	t := u.TLS
	if t == nil {
		return c, nil
	}
	c.ServerName = t.ServerName
	c.InsecureSkipVerify = t.InsecureSkipVerify
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// buildTransport returns the transport for u. Plain-HTTP/1.1 targets go
// through h1client, a synchronous client that costs far less CPU per
// request than net/http's Transport; TLS, HTTP/2 and h2c go through
// net/http. An upstream may mix schemes, so the choice is per request.
// counters receive h1client's stale-connection events.
func buildTransport(u *config.Upstream, counters observe.UpstreamCounters) (http.RoundTripper, error) {
	tlsConf, err := upstreamTLS(u)
	if err != nil {
		return nil, err
	}
	std := proxy.NewTransport(proxy.TransportConfig{
		Protocol:              u.Protocol,
		TLS:                   tlsConf,
		ConnectTimeout:        u.ConnectTimeout,
		IdleTimeout:           u.IdleTimeout,
		ResponseHeaderTimeout: u.ResponseHeaderTimeout,
		MaxIdlePerTarget:      u.MaxIdlePerTarget,
	})
	if u.Protocol == proxy.ProtocolHTTP2 || u.MaxIdlePerTarget <= 0 {
		return std, nil
	}
	return &schemeTransport{
		h1: h1client.New(h1client.Config{
			ConnectTimeout:        u.ConnectTimeout,
			IdleTimeout:           u.IdleTimeout,
			ResponseHeaderTimeout: u.ResponseHeaderTimeout,
			MaxIdlePerHost:        u.MaxIdlePerTarget,
			OnStaleConn:           counters.StaleConns.Inc,
			OnRetry:               counters.StaleRetries.Inc,
		}),
		std: std,
	}, nil
}

// schemeTransport sends http:// requests through h1client and the rest
// through net/http.
type schemeTransport struct {
	h1  *h1client.Transport
	std http.RoundTripper
}

func (t *schemeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" {
		return t.h1.RoundTrip(r)
	}
	return t.std.RoundTrip(r)
}

// CloseIdleConnections closes both transports' idle connections.
func (t *schemeTransport) CloseIdleConnections() {
	t.h1.CloseIdleConnections()
	if c, ok := t.std.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// CloseIdleFor closes one drained target's idle connections.
func (t *schemeTransport) CloseIdleFor(hostport string) { t.h1.CloseIdleFor(hostport) }

// buildTargets turns configured targets into balancer targets.
func buildTargets(u *config.Upstream) ([]*balancer.Target, error) {
	ts := make([]*balancer.Target, 0, len(u.Targets))
	for _, t := range u.Targets {
		pu, err := url.Parse(t.URL)
		if err != nil {
			return nil, err
		}
		if pu.Port() == "" {
			port := "80"
			if pu.Scheme == "https" {
				port = "443"
			}
			pu.Host += ":" + port
		}
		bt := balancer.NewTarget(&url.URL{Scheme: pu.Scheme, Host: pu.Host}, t.Weight)
		bt.Priority = t.Priority
		ts = append(ts, bt)
	}
	return ts, nil
}

// idleCloser is implemented by transports that can drop one target's idle
// connections once it has drained.
type idleCloser interface{ CloseIdleFor(hostport string) }

// drain waits for a removed target's in-flight requests to finish (up to
// the grace period), then closes its idle connections.
func (g *Gateway) drain(t *balancer.Target, rt http.RoundTripper, grace time.Duration) {
	deadline := time.Now().Add(grace)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for t.InFlight() > 0 && time.Now().Before(deadline) {
		<-tick.C
	}
	if c, ok := rt.(idleCloser); ok {
		c.CloseIdleFor(t.Addr)
	}
	g.log.Info("target drained", "target", t.Addr, "in_flight_left", t.InFlight())
}

// balancerOptions translates an upstream's algorithm options. key signs
// sticky cookies when the configuration gives no secret.
func balancerOptions(u *config.Upstream, key []byte) balancer.Options {
	o := balancer.Options{SlowStart: u.SlowStart, SpreadWhenNoneHealthy: u.WhenNoneHealthy == "all"}
	if h := u.Hash; h != nil {
		o.HashOn, o.HashKey, o.HashFallback = h.On, h.Key, h.Fallback
	}
	if st := u.Sticky; st != nil {
		sc := &balancer.StickyConfig{Cookie: st.Cookie, TTL: st.TTL, Secure: st.Secure, HTTPOnly: st.HTTPOnly, Path: st.Path, Key: key}
		if st.Secret != "" {
			sum := sha256.Sum256([]byte(st.Secret))
			sc.Key = sum[:]
		}
		switch st.SameSite {
		case "strict":
			sc.SameSite = http.SameSiteStrictMode
		case "none":
			sc.SameSite = http.SameSiteNoneMode
		default:
			sc.SameSite = http.SameSiteLaxMode
		}
		o.Sticky = sc
	}
	return o
}
