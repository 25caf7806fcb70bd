package config

import (
	"net/netip"
	"time"
)

// This file holds the identity and edge-security part of the schema:
// consumers, credentials, JWT providers, the shared store and the
// per-route policies.

// Consumer is a named identity that credentials map to.
type Consumer struct {
	Pos      Pos               `yaml:"-"`
	Name     string            `yaml:"name"`
	Groups   []string          `yaml:"groups"`
	Metadata map[string]string `yaml:"metadata"`
	// APIKeys are keys given in configuration; keys issued at run time
	// through the admin API live in the key store instead.
	APIKeys []*APIKey `yaml:"api_keys"`
	// BasicAuth gives the consumer a username and bcrypt password hash.
	BasicAuth *BasicCredential `yaml:"basic_auth"`
	// Certificates map verified client certificates (mTLS) to the consumer.
	Certificates []*CertificateMatch `yaml:"certificates"`
	// Plan names the consumer's usage plan.
	Plan string `yaml:"plan"`
}

// APIKey is one configured API key: KeyHash (hex SHA-256, preferred) or
// Key (plain, accepted with a warning because it sits in the file).
type APIKey struct {
	Pos     Pos    `yaml:"-"`
	KeyHash string `yaml:"key_hash"`
	Key     string `yaml:"key"`
}

// BasicCredential is a username and a bcrypt hash ($2y$, $2a$, $2b$).
type BasicCredential struct {
	Pos          Pos    `yaml:"-"`
	Username     string `yaml:"username"`
	PasswordHash string `yaml:"password_hash"`
}

// CertificateMatch matches a verified client certificate; every field
// given must match.
type CertificateMatch struct {
	Pos Pos `yaml:"-"`
	// Subject is the RFC 2253 distinguished name, e.g. "CN=alice,O=Example".
	Subject    string `yaml:"subject"`
	CommonName string `yaml:"common_name"`
	DNSName    string `yaml:"dns_name"`
	URI        string `yaml:"uri"`
	Email      string `yaml:"email"`
}

// JWTProvider is one trusted token issuer and its keys.
type JWTProvider struct {
	Pos       Pos    `yaml:"-"`
	Name      string `yaml:"name"`
	JWTIssuer `yaml:",inline"`
}

// JWTIssuer is what verifying an issuer's tokens takes. It appears in a
// named provider and inline in a route's jwt policy.
type JWTIssuer struct {
	Issuer    string   `yaml:"issuer"`
	Audiences []string `yaml:"audiences"`
	// Algorithms is the allow-list; "none" is always refused. Default:
	// HS256 with a secret, RS256 and ES256 with public keys or JWKS.
	Algorithms []string `yaml:"algorithms"`
	// Secret is an HMAC key (use ${ENV}).
	Secret string `yaml:"secret"`
	// Keys are public keys (PEM files) or further HMAC secrets by kid.
	Keys           []*JWTKey     `yaml:"keys"`
	JWKSURL        string        `yaml:"jwks_url"`
	JWKSRefresh    time.Duration `yaml:"jwks_refresh"`
	JWKSMinRefresh time.Duration `yaml:"jwks_min_refresh"`
	JWKSTimeout    time.Duration `yaml:"jwks_timeout"`
	Leeway         time.Duration `yaml:"leeway"`
	ConsumerClaim  string        `yaml:"consumer_claim"`
	GroupsClaim    string        `yaml:"groups_claim"`
	ScopesClaim    string        `yaml:"scopes_claim"`
}

// JWTKey is one verification key: a PEM public key or certificate (in
// a file or inline) or an HMAC secret.
type JWTKey struct {
	Pos    Pos    `yaml:"-"`
	KID    string `yaml:"kid"`
	File   string `yaml:"file"`
	Inline string `yaml:"pem"`
	Secret string `yaml:"secret"`
	// PEM holds the file's or the inline key's content after Load.
	PEM []byte `yaml:"-"`
}

// Store configures shared state. Without Redis, run-time API keys live
// in an embedded database under DataDir.
type Store struct {
	Pos   Pos         `yaml:"-"`
	Redis *RedisStore `yaml:"redis"`
	// Instances is how many gateway instances share the store: with
	// rate_limit fail: local each enforces limit ÷ instances. Default 1.
	Instances int `yaml:"instances"`
	// CacheMaxBytes bounds the in-memory response cache (default 256MiB).
	CacheMaxBytes int64 `yaml:"cache_max_bytes" gatehouse:"size"`
}

// Instances is store.instances, or 1 without a store section.
func (c *Config) Instances() int {
	if c.Store == nil {
		return 1
	}
	return c.Store.Instances
}

// CacheMaxBytes is store.cache_max_bytes, or its default without a
// store section.
func (c *Config) CacheMaxBytes() int64 {
	if c.Store == nil {
		return defaultCacheMaxBytes
	}
	return c.Store.CacheMaxBytes
}

// RedisStore is a go-redis UniversalClient: one address for standalone,
// several for Cluster, MasterName for Sentinel.
type RedisStore struct {
	Pos        Pos           `yaml:"-"`
	Addrs      []string      `yaml:"addrs"`
	MasterName string        `yaml:"master_name"`
	Username   string        `yaml:"username"`
	Password   string        `yaml:"password"`
	DB         int           `yaml:"db"`
	PoolSize   int           `yaml:"pool_size"`
	Timeout    time.Duration `yaml:"timeout"`
	// Prefix namespaces every key, default "gatehouse:".
	Prefix string    `yaml:"prefix"`
	TLS    *RedisTLS `yaml:"tls"`
}

// RedisTLS turns on TLS to Redis.
type RedisTLS struct {
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// ClientAuth is mTLS on an https listener.
type ClientAuth struct {
	Pos Pos `yaml:"-"`
	// Mode is "request" (verify a certificate when given) or "require".
	Mode   string `yaml:"mode"`
	CAFile string `yaml:"ca_file"`
}

// Policies are a route's edge, identity and traffic policies. They run
// in a fixed order whatever their order in the file: ip_filter,
// request_limits, cors, waf, authentication (the methods given, first to
// accept wins), authorize, rate_limit, concurrency_limit, quota, cache,
// then the route's filters and action.
type Policies struct {
	Pos           Pos            `yaml:"-"`
	IPFilter      *IPFilter      `yaml:"ip_filter"`
	RequestLimits *RequestLimits `yaml:"request_limits"`
	CORS          *CORS          `yaml:"cors"`
	WAF           *WAF           `yaml:"waf"`

	APIKey        *APIKeyAuth    `yaml:"api_key"`
	JWT           *JWTAuth       `yaml:"jwt"`
	BasicAuth     *BasicAuth     `yaml:"basic_auth"`
	Introspection *Introspection `yaml:"introspection"`
	ExtAuth       *ExtAuth       `yaml:"ext_auth"`
	MTLS          *MTLSAuth      `yaml:"mtls"`
	// AuthOptional lets requests without any credential through
	// unauthenticated (a credential that is present must still be valid).
	AuthOptional bool       `yaml:"auth_optional"`
	Authorize    *Authorize `yaml:"authorize"`
	// ConsumerHeaders maps upstream header names to identity fields (name,
	// subject, groups, scopes, method, plan, metadata.KEY). Default:
	// X-Consumer-Name: name, X-Consumer-Groups: groups, X-Auth-Method: method.
	ConsumerHeaders map[string]string `yaml:"consumer_headers"`

	RateLimit        *RateLimit        `yaml:"rate_limit"`
	ConcurrencyLimit *ConcurrencyLimit `yaml:"concurrency_limit"`
	Quota            *Quota            `yaml:"quota"`
	Cache            *Cache            `yaml:"cache"`
}

// IPFilter allows and denies client IPs (resolved through trusted proxies).
type IPFilter struct {
	Pos   Pos            `yaml:"-"`
	Allow []netip.Prefix `yaml:"allow"`
	Deny  []netip.Prefix `yaml:"deny"`
}

// RequestLimits bound what a client may send on the route.
type RequestLimits struct {
	Pos            Pos   `yaml:"-"`
	MaxBodyBytes   int64 `yaml:"max_body_bytes" gatehouse:"size"`
	MaxHeaderCount int   `yaml:"max_header_count"`
	MaxHeaderBytes int64 `yaml:"max_header_bytes" gatehouse:"size"`
}

// CORS answers preflights and decorates responses for browsers.
type CORS struct {
	Pos                 Pos           `yaml:"-"`
	AllowOrigins        []string      `yaml:"allow_origins"`
	AllowOriginRegex    []string      `yaml:"allow_origin_regex"`
	AllowMethods        []string      `yaml:"allow_methods"`
	AllowHeaders        []string      `yaml:"allow_headers"`
	ExposeHeaders       []string      `yaml:"expose_headers"`
	AllowCredentials    bool          `yaml:"allow_credentials"`
	MaxAge              time.Duration `yaml:"max_age"`
	AllowPrivateNetwork bool          `yaml:"allow_private_network"`
}

// WAF runs Coraza with the OWASP Core Rule Set.
type WAF struct {
	Pos Pos `yaml:"-"`
	// Mode is block (default) or detect.
	Mode             string `yaml:"mode"`
	ParanoiaLevel    int    `yaml:"paranoia_level"`
	AnomalyThreshold int    `yaml:"anomaly_threshold"`
	ExcludeRules     []int  `yaml:"exclude_rules"`
	RequestBodyLimit int64  `yaml:"request_body_limit" gatehouse:"size"`
	Directives       string `yaml:"directives"`
}

// APIKeyAuth accepts API keys of configured consumers and keys issued
// through the admin API.
type APIKeyAuth struct {
	Pos    Pos    `yaml:"-"`
	Header string `yaml:"header"`
	Query  string `yaml:"query"`
	Cookie string `yaml:"cookie"`
	// HideCredentials removes the key before the request goes upstream
	// (default true).
	HideCredentials bool `yaml:"hide_credentials"`
}

// JWTAuth accepts bearer JWTs from named providers and/or one provider
// given inline.
type JWTAuth struct {
	Pos       Pos      `yaml:"-"`
	Providers []string `yaml:"providers"`
	JWTIssuer `yaml:",inline"`
	Header    string `yaml:"header"`
	Query     string `yaml:"query"`
	Cookie    string `yaml:"cookie"`
	// RequiredClaims: the claim must equal (or, for arrays, contain) one of the values.
	RequiredClaims map[string][]string `yaml:"required_claims"`
	RequiredScopes []string            `yaml:"required_scopes"`
	// ForwardClaims maps claim names to upstream header names.
	ForwardClaims     map[string]string `yaml:"forward_claims"`
	KeepAuthorization bool              `yaml:"keep_authorization"`
}

// BasicAuth accepts consumers' basic credentials and htpasswd users.
type BasicAuth struct {
	Pos          Pos    `yaml:"-"`
	Realm        string `yaml:"realm"`
	HtpasswdFile string `yaml:"htpasswd_file"`
	// HideCredentials removes Authorization upstream (default true).
	HideCredentials bool `yaml:"hide_credentials"`
}

// Introspection validates opaque tokens with an RFC 7662 endpoint.
type Introspection struct {
	Pos               Pos           `yaml:"-"`
	Endpoint          string        `yaml:"endpoint"`
	ClientID          string        `yaml:"client_id"`
	ClientSecret      string        `yaml:"client_secret"`
	TokenTypeHint     string        `yaml:"token_type_hint"`
	Timeout           time.Duration `yaml:"timeout"`
	CacheTTL          time.Duration `yaml:"cache_ttl"`
	RequiredScopes    []string      `yaml:"required_scopes"`
	Audiences         []string      `yaml:"audiences"`
	Issuer            string        `yaml:"issuer"`
	ConsumerField     string        `yaml:"consumer_field"`
	KeepAuthorization bool          `yaml:"keep_authorization"`
	// Header (default Authorization, Bearer scheme), Query and Cookie say
	// where the token is looked for, as for jwt.
	Header string `yaml:"header"`
	Query  string `yaml:"query"`
	Cookie string `yaml:"cookie"`
}

// ExtAuth asks an external service whether to let the request through.
type ExtAuth struct {
	Pos             Pos           `yaml:"-"`
	URL             string        `yaml:"url"`
	Timeout         time.Duration `yaml:"timeout"`
	RequestHeaders  []string      `yaml:"request_headers"`
	UpstreamHeaders []string      `yaml:"upstream_headers"`
	ClientHeaders   []string      `yaml:"client_headers"`
	SubjectHeader   string        `yaml:"subject_header"`
}

// MTLSAuth maps the listener-verified client certificate to a consumer.
type MTLSAuth struct {
	Pos            Pos  `yaml:"-"`
	RequireMapping bool `yaml:"require_mapping"`
	// ForwardHeader, when set, carries the certificate's subject DN upstream.
	ForwardHeader string `yaml:"forward_header"`
}

// Authorize is the route's access rule over the authenticated identity.
type Authorize struct {
	Pos       Pos                 `yaml:"-"`
	AnyGroups []string            `yaml:"any_groups"`
	AllGroups []string            `yaml:"all_groups"`
	AnyScopes []string            `yaml:"any_scopes"`
	AllScopes []string            `yaml:"all_scopes"`
	Claims    map[string][]string `yaml:"claims"`
	Consumers []string            `yaml:"consumers"`
}
