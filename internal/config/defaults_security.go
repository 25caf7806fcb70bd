package config

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/policy/extauth"
	"github.com/gatehouse/gatehouse/internal/policy/introspect"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
	"github.com/gatehouse/gatehouse/internal/policy/waf"
)

const (
	defaultDataDir         = ".gatehouse"
	defaultRedisPrefix     = "gatehouse:"
	defaultRedisTimeout    = 100 * time.Millisecond
	defaultAPIKeyHeader    = "X-Api-Key"
	defaultRealm           = "gatehouse"
	defaultJWTLeeway       = 30 * time.Second
	defaultJWKSRefresh     = jwtauth.DefaultJWKSRefresh
	defaultJWKSMinRefresh  = jwtauth.DefaultJWKSMinRefresh
	defaultJWKSTimeout     = jwtauth.DefaultJWKSTimeout
	defaultConsumerClaim   = "sub"
	defaultWAFMode         = waf.ModeBlock
	defaultParanoia        = waf.DefaultParanoiaLevel
	defaultAnomaly         = waf.DefaultAnomalyThreshold
	defaultWAFBodyLimit    = waf.DefaultRequestBodyLimit
	defaultIntrospectTO    = introspect.DefaultTimeout
	defaultIntrospectCache = introspect.DefaultCacheTTL
	defaultExtAuthTimeout  = extauth.DefaultTimeout
	defaultClientAuthMode  = "require"
)

// securityDefaults fills the identity and edge-security sections.
func securityDefaults(c *Config, given func(any) bool) {
	if c.DataDir == "" {
		c.DataDir = defaultDataDir // resolved beside the first file
	}
	if s := c.Store; s != nil && s.Redis != nil {
		r := s.Redis
		if r.Prefix == "" {
			r.Prefix = defaultRedisPrefix
		}
		if !given(&r.Timeout) {
			r.Timeout = defaultRedisTimeout
		}
	}
	for _, l := range c.Listeners {
		if l.TLS != nil && l.TLS.ClientAuth != nil && l.TLS.ClientAuth.Mode == "" {
			l.TLS.ClientAuth.Mode = defaultClientAuthMode
		}
	}
	for _, p := range c.JWTProviders {
		issuerDefaults(&p.JWTIssuer, given)
	}
	for _, r := range c.Routes {
		p := r.Policies
		if p == nil {
			continue
		}
		if a := p.APIKey; a != nil {
			if a.Header == "" && a.Query == "" && a.Cookie == "" {
				a.Header = defaultAPIKeyHeader
			}
			if !given(&a.HideCredentials) {
				a.HideCredentials = true
			}
		}
		if j := p.JWT; j != nil {
			issuerDefaults(&j.JWTIssuer, given)
			if j.Header == "" && j.Query == "" && j.Cookie == "" {
				j.Header = "Authorization"
			}
		}
		if b := p.BasicAuth; b != nil {
			if b.Realm == "" {
				b.Realm = defaultRealm
			}
			if !given(&b.HideCredentials) {
				b.HideCredentials = true
			}
		}
		if w := p.WAF; w != nil {
			if w.Mode == "" {
				w.Mode = defaultWAFMode
			}
			if !given(&w.ParanoiaLevel) {
				w.ParanoiaLevel = defaultParanoia
			}
			if !given(&w.AnomalyThreshold) {
				w.AnomalyThreshold = defaultAnomaly
			}
			if !given(&w.RequestBodyLimit) {
				w.RequestBodyLimit = defaultWAFBodyLimit
			}
		}
		if in := p.Introspection; in != nil {
			if !given(&in.Timeout) {
				in.Timeout = defaultIntrospectTO
			}
			if !given(&in.CacheTTL) {
				in.CacheTTL = defaultIntrospectCache
			}
		}
		if e := p.ExtAuth; e != nil && !given(&e.Timeout) {
			e.Timeout = defaultExtAuthTimeout
		}
	}
}

// issuerDefaults fills a JWT issuer; an inline issuer in a route that only
// names providers stays empty (see JWTIssuer.Given).
func issuerDefaults(j *JWTIssuer, given func(any) bool) {
	if !given(&j.Leeway) {
		j.Leeway = defaultJWTLeeway
	}
	if j.JWKSRefresh == 0 {
		j.JWKSRefresh = defaultJWKSRefresh
	}
	if !given(&j.JWKSMinRefresh) {
		j.JWKSMinRefresh = defaultJWKSMinRefresh
	}
	if j.JWKSTimeout == 0 {
		j.JWKSTimeout = defaultJWKSTimeout
	}
	if j.ConsumerClaim == "" {
		j.ConsumerClaim = defaultConsumerClaim
	}
	if len(j.Algorithms) == 0 {
		hasSecret, hasPublic := j.Secret != "", j.JWKSURL != ""
		for _, k := range j.Keys {
			hasSecret = hasSecret || k.Secret != ""
			hasPublic = hasPublic || k.Secret == ""
		}
		if hasSecret {
			j.Algorithms = append(j.Algorithms, "HS256", "HS384", "HS512")
		}
		if hasPublic {
			j.Algorithms = append(j.Algorithms, "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
		}
	}
}

// Given reports whether the issuer names any key source: an inline
// provider in a route's jwt policy.
func (j *JWTIssuer) Given() bool {
	return j.Secret != "" || len(j.Keys) > 0 || j.JWKSURL != ""
}
