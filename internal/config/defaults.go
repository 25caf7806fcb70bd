package config

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/action"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/discovery"
	"github.com/gatehouse/gatehouse/internal/h1client"
	"github.com/gatehouse/gatehouse/internal/health"
	"github.com/gatehouse/gatehouse/internal/mirror"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// DefaultGracePeriod is shutdown.grace_period when not given; the
// gateway also uses it for a shutdown before any configuration loaded.
const DefaultGracePeriod = 30 * time.Second

// Defaults live here, in one place, so that documentation and code
// cannot drift apart and consumers never need their own fallbacks.
const (
	defaultMaxHeaderBytes    = 64 << 10
	defaultReadHeaderTimeout = 10 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultTLSMinVersion     = "1.2"
	defaultLogLevel          = "info"
	defaultAccessLogPath     = "stdout"
	defaultGracePeriod       = DefaultGracePeriod
	defaultGCPercent         = 400
	defaultBalance           = "round_robin"
	defaultUpstreamProtocol  = "auto"
	defaultConnectTimeout    = h1client.DefaultConnectTimeout
	defaultUpstreamIdle      = h1client.DefaultIdleTimeout
	defaultMaxIdlePerTarget  = h1client.DefaultMaxIdlePerHost
	defaultWeight            = 1
	defaultRouteTimeout      = 60 * time.Second
	defaultRespondStatus     = action.DefaultRespondStatus
	defaultRedirectStatus    = action.DefaultRedirectStatus
)

// applyDefaults fills every field the user did not give. Numbers, booleans
// and durations are defaulted only when absent (set has no entry), so an
// explicit 0 or false is kept; empty strings are always defaulted because
// "" is never a meaningful choice for them.
func applyDefaults(c *Config, set map[any]Pos) {
	given := func(p any) bool { _, ok := set[p]; return ok }

	for _, l := range c.Listeners {
		if l.Protocol == "" {
			l.Protocol = "http"
		}
		if l.Protocol == "tcp" || l.Protocol == "tls" || l.Protocol == "udp" {
			continue // l4Defaults; HTTP limits do not apply
		}
		if l.Protocol == "https" && !given(&l.HTTP2) {
			l.HTTP2 = true
		}
		if !given(&l.MaxHeaderBytes) {
			l.MaxHeaderBytes = defaultMaxHeaderBytes
		}
		if !given(&l.Timeouts.ReadHeader) {
			l.Timeouts.ReadHeader = defaultReadHeaderTimeout
		}
		if !given(&l.Timeouts.Idle) {
			l.Timeouts.Idle = defaultIdleTimeout
		}
		if l.TLS != nil && l.TLS.MinVersion == "" {
			l.TLS.MinVersion = defaultTLSMinVersion
		}
	}
	l4Defaults(c, given)
	if !given(&c.AccessLog.Enabled) {
		c.AccessLog.Enabled = true
	}
	if c.AccessLog.Path == "" {
		c.AccessLog.Path = defaultAccessLogPath
	}
	if c.Log.Level == "" {
		c.Log.Level = defaultLogLevel
	}
	if !given(&c.Shutdown.GracePeriod) {
		c.Shutdown.GracePeriod = defaultGracePeriod
	}
	if !given(&c.Reload.Watch) {
		c.Reload.Watch = true
	}
	if !given(&c.Runtime.GCPercent) {
		c.Runtime.GCPercent = defaultGCPercent
	}
	for _, u := range c.Upstreams {
		if u.Balance == "" {
			u.Balance = defaultBalance
		}
		if u.Protocol == "" {
			u.Protocol = defaultUpstreamProtocol
		}
		if !given(&u.ConnectTimeout) {
			u.ConnectTimeout = defaultConnectTimeout
		}
		if !given(&u.IdleTimeout) {
			u.IdleTimeout = defaultUpstreamIdle
		}
		if !given(&u.MaxIdlePerTarget) {
			u.MaxIdlePerTarget = defaultMaxIdlePerTarget
		}
		for _, t := range u.Targets {
			if !given(&t.Weight) {
				t.Weight = defaultWeight
			}
		}
		resilienceDefaults(u, given)
	}
	for _, r := range c.Routes {
		if !given(&r.Timeout) {
			r.Timeout = defaultRouteTimeout
			if r.Compose != nil {
				r.Timeout = compose.DefaultTimeout
			}
		}
		if r.Respond != nil && !given(&r.Respond.Status) {
			r.Respond.Status = defaultRespondStatus
		}
		if rt := r.Retry; rt != nil {
			if !given(&rt.Attempts) {
				rt.Attempts = proxy.DefaultRetryAttempts
			}
			if !given(&rt.On) {
				rt.On = []string{proxy.RetryOnConnectFailure, proxy.RetryOnReset}
			}
			if !given(&rt.BackoffBase) {
				rt.BackoffBase = proxy.DefaultBackoffBase
			}
			if !given(&rt.BackoffMax) {
				rt.BackoffMax = proxy.DefaultBackoffMax
			}
			if !given(&rt.BufferBytes) {
				rt.BufferBytes = proxy.DefaultRetryBufferBytes
			}
		}
		for _, f := range r.Filters {
			if m := f.RequestMirror; m != nil && !given(&m.Percent) {
				m.Percent = mirror.DefaultPercent
			}
			bodyDefaults(f, given)
		}
		if r.Redirect != nil && !given(&r.Redirect.Status) {
			r.Redirect.Status = defaultRedirectStatus
		}
	}
	securityDefaults(c, given)
	trafficDefaults(c, given)
	versioningDefaults(c)
}

// resilienceDefaults fills the load-balancing sections of u that are
// present (an absent section stays nil: the feature is off).
func resilienceDefaults(u *Upstream, given func(any) bool) {
	if u.WhenNoneHealthy == "" {
		u.WhenNoneHealthy = "fail"
	}
	if h := u.Hash; h != nil {
		if h.On == "" {
			h.On = "client_ip"
		}
		if h.Fallback == "" {
			h.Fallback = "random"
		}
	}
	if hc := u.HealthCheck; hc != nil {
		if hc.Type == "" {
			hc.Type = "http"
		}
		if hc.Type == "http" {
			if hc.Path == "" {
				hc.Path = "/"
			}
			if hc.Method == "" {
				hc.Method = "GET"
			}
			if len(hc.ExpectStatus) == 0 {
				hc.ExpectStatus = []string{"200-399"}
			}
		}
		if !given(&hc.Interval) {
			hc.Interval = health.DefaultInterval
		}
		if !given(&hc.Timeout) {
			hc.Timeout = health.DefaultTimeout
		}
		if !given(&hc.HealthyThreshold) {
			hc.HealthyThreshold = health.DefaultHealthyThreshold
		}
		if !given(&hc.UnhealthyThreshold) {
			hc.UnhealthyThreshold = health.DefaultUnhealthyThreshold
		}
	}
	if o := u.OutlierDetection; o != nil {
		if !given(&o.ConsecutiveFailures) {
			o.ConsecutiveFailures = health.DefaultConsecutiveFailures
		}
		if !given(&o.BaseEjection) {
			o.BaseEjection = health.DefaultBaseEjection
		}
		if !given(&o.MaxEjection) {
			o.MaxEjection = health.DefaultMaxEjection
		}
		if !given(&o.MaxEjectedPercent) {
			o.MaxEjectedPercent = health.DefaultMaxEjectedPercent
		}
	}
	if u.RetryBudget == nil {
		u.RetryBudget = &RetryBudget{}
	}
	if !given(&u.RetryBudget.Ratio) {
		u.RetryBudget.Ratio = 0.2
	}
	if !given(&u.RetryBudget.MinConcurrent) {
		u.RetryBudget.MinConcurrent = 3
	}
	if st := u.Sticky; st != nil {
		if st.Cookie == "" {
			st.Cookie = "gh_sticky"
		}
		if !given(&st.HTTPOnly) {
			st.HTTPOnly = true
		}
		if st.SameSite == "" {
			st.SameSite = "lax"
		}
		if st.Path == "" {
			st.Path = "/"
		}
	}
	if d := u.Discovery; d != nil && !given(&d.Interval) {
		d.Interval = discovery.DefaultInterval
	}
}
