// Package config is Gatehouse's configuration: the YAML schema, a strict
// loader that keeps the file:line of every element, ${ENV} substitution,
// defaults and validation.
//
// A Config returned by Load or Parse is final: defaults are applied, names
// are resolved and checked, relative file paths are absolute (relative to
// the YAML file that named them) and respond body files are read. Consumers
// compile it without re-defaulting or re-validating anything.
package config

import (
	"net/netip"
	"time"
)

// Config is the whole configuration, possibly merged from several files.
type Config struct {
	Listeners []*Listener `yaml:"listeners"`
	// Admin is nil when no admin listener is configured.
	Admin     *Admin      `yaml:"admin"`
	AccessLog AccessLog   `yaml:"access_log"`
	Log       Log         `yaml:"log"`
	Shutdown  Shutdown    `yaml:"shutdown"`
	Reload    Reload      `yaml:"reload"`
	Runtime   Runtime     `yaml:"runtime"`
	Upstreams []*Upstream `yaml:"upstreams"`
	Routes    []*Route    `yaml:"routes"`
	// L4Routes route tcp, tls and udp listeners (and SNI passthrough on
	// https listeners).
	L4Routes []*L4Route `yaml:"l4_routes"`

	Consumers    []*Consumer    `yaml:"consumers"`
	Plans        []*Plan        `yaml:"plans"`
	JWTProviders []*JWTProvider `yaml:"jwt_providers"`
	// Store is nil for in-memory/embedded state.
	Store *Store `yaml:"store"`
	// Kubernetes configures how manifests become listeners and routes.
	Kubernetes *Kubernetes `yaml:"kubernetes"`
	// Versioning says where requests name the version match.version selects.
	Versioning *Versioning `yaml:"versioning"`
	// DataDir holds the embedded store (run-time API keys); absolute after
	// Load, default ".gatehouse" beside the first config file.
	DataDir string `yaml:"data_dir"`

	// Files lists every file that was read, in load order, so the file
	// watcher knows what to watch.
	Files []string `yaml:"-"`
	// Warnings are accepted but discouraged choices, for the log.
	Warnings []Warning `yaml:"-"`
}

// Listener is one socket that accepts client traffic.
type Listener struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Address is host:port; port 0 picks a free port (useful in tests).
	Address string `yaml:"address"`
	// Protocol is http (the default), https, tcp, tls (TLS terminated,
	// plain TCP to the upstream) or udp.
	Protocol string `yaml:"protocol"`
	// H2C serves cleartext HTTP/2 (prior knowledge and Upgrade) on a plain
	// http listener.
	H2C bool `yaml:"h2c"`
	// HTTP2 offers h2 via ALPN on https listeners; true by default there and
	// always false on http listeners (use H2C for cleartext HTTP/2).
	HTTP2 bool `yaml:"http2"`
	// TLS is non-nil exactly when Protocol is "https" or "tls".
	TLS *ListenerTLS `yaml:"tls"`
	// Timeouts: for tcp and tls listeners only Idle applies (inactivity
	// both ways), for udp Idle is the session idle time.
	Timeouts ServerTimeouts `yaml:"timeouts"`
	// ProxyProtocol, when set, accepts PROXY protocol headers from
	// trusted peers (not on udp listeners).
	ProxyProtocol *ProxyProtocolAccept `yaml:"proxy_protocol"`
	// MaxConnections caps open connections (udp: sessions); 0 = no cap,
	// except on udp listeners where it is never 0 after Load.
	MaxConnections int `yaml:"max_connections"`
	// MaxHeaderBytes caps request line plus headers; never 0 after Load, so
	// net/http's own 1 MiB default never silently applies.
	MaxHeaderBytes int64 `yaml:"max_header_bytes" gatehouse:"size"`
	// TrustedProxies are the peers whose X-Forwarded-For / Forwarded headers
	// are believed. Bare IPs in the file become /32 or /128 prefixes.
	TrustedProxies []netip.Prefix `yaml:"trusted_proxies"`
}

// ListenerTLS is the server side TLS of an https listener.
type ListenerTLS struct {
	// Certificates holds at least one pair; the handshake picks by SNI.
	Certificates []Certificate `yaml:"certificates"`
	// MinVersion is "1.2" or "1.3".
	MinVersion string `yaml:"min_version"`
	// ClientAuth turns on mTLS.
	ClientAuth *ClientAuth `yaml:"client_auth"`
}

// Certificate is a PEM certificate chain and its private key. Both paths
// are absolute after Load and the pair is known to load.
type Certificate struct {
	Pos      Pos    `yaml:"-"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// ServerTimeouts bound how long a client may take. Zero means no limit;
// after Load every value is final (an explicit 0 stays 0).
type ServerTimeouts struct {
	ReadHeader time.Duration `yaml:"read_header"`
	Read       time.Duration `yaml:"read"`
	Write      time.Duration `yaml:"write"`
	Idle       time.Duration `yaml:"idle"`
}

// Admin is the listener for metrics, health and the admin API.
type Admin struct {
	Pos     Pos    `yaml:"-"`
	Address string `yaml:"address"`
	// Token protects the admin API (consumers, keys) as a bearer token;
	// without one those endpoints answer 403. Use ${ENV}.
	Token string `yaml:"token"`
}

// AccessLog configures the per-request log.
type AccessLog struct {
	Enabled bool `yaml:"enabled"`
	// Path is "stdout", "stderr" or an absolute file path after Load.
	Path string `yaml:"path"`
}

// Log configures the process log.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
}

// Shutdown configures graceful shutdown.
type Shutdown struct {
	// GracePeriod is how long in-flight requests may take to finish.
	GracePeriod time.Duration `yaml:"grace_period"`
}

// Reload configures hitless reloads.
type Reload struct {
	// Watch reloads automatically when a config file changes.
	Watch bool `yaml:"watch"`
}

// Runtime tunes the Go runtime.
type Runtime struct {
	// GCPercent is passed to debug.SetGCPercent; -1 turns the GC off.
	GCPercent int `yaml:"gc_percent"`
}

// Upstream is a named pool of targets that routes forward to.
type Upstream struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Balance is one of round_robin, weighted_round_robin, least_request,
	// random, hash, p2c_ewma.
	Balance string    `yaml:"balance"`
	Targets []*Target `yaml:"targets"`
	// Protocol is auto (ALPN / HTTP/1.1), http1 or http2 towards targets.
	Protocol              string        `yaml:"protocol"`
	TLS                   *UpstreamTLS  `yaml:"tls"`
	ConnectTimeout        time.Duration `yaml:"connect_timeout"`
	IdleTimeout           time.Duration `yaml:"idle_timeout"`
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
	// MaxIdlePerTarget caps pooled idle connections per target; an explicit
	// 0 means keep none (the proxy should disable keep-alive), not "use the
	// net/http default".
	MaxIdlePerTarget int `yaml:"max_idle_per_target"`

	// Hash configures the hash algorithm's key (balance: hash).
	Hash *HashConfig `yaml:"hash"`
	// HealthCheck enables active health checks of every target.
	HealthCheck *HealthCheck `yaml:"health_check"`
	// OutlierDetection ejects targets that fail consecutive requests.
	OutlierDetection *OutlierDetection `yaml:"outlier_detection"`
	// CircuitBreaker caps requests in flight to the upstream.
	CircuitBreaker *CircuitBreaker `yaml:"circuit_breaker"`
	// RetryBudget caps retries to a share of live requests.
	RetryBudget *RetryBudget `yaml:"retry_budget"`
	// Sticky pins clients to a target with a signed cookie.
	Sticky *Sticky `yaml:"sticky"`
	// SlowStart ramps a target's share over this window after it becomes
	// available; 0 disables.
	SlowStart time.Duration `yaml:"slow_start"`
	// WhenNoneHealthy is "fail" (503, the default) or "all" (spread over
	// every target, healthy or not, as Envoy's panic mode does).
	WhenNoneHealthy string `yaml:"when_none_healthy"`
	// Discovery re-resolves targets given by DNS name.
	Discovery *Discovery `yaml:"discovery"`
	// ProxyProtocol is "" (none), v1 or v2: the PROXY protocol header sent
	// on every new connection to a target (v2 only for udp).
	ProxyProtocol string `yaml:"proxy_protocol"`
	// MaxConnectionsPerTarget caps L4 connections (udp: sessions) per
	// target; a full target is skipped. 0 = no cap.
	MaxConnectionsPerTarget int `yaml:"max_connections_per_target"`
}

// HashConfig chooses the key of consistent hashing.
type HashConfig struct {
	// On is client_ip (default), header, cookie or query.
	On string `yaml:"on"`
	// Key is the header, cookie or query parameter name.
	Key string `yaml:"key"`
	// Fallback is the algorithm for requests without the key (default random).
	Fallback string `yaml:"fallback"`
}

// HealthCheck is an active health check.
type HealthCheck struct {
	Pos Pos `yaml:"-"`
	// Type is http (default), tcp, tls (handshake), udp or grpc.
	Type   string `yaml:"type"`
	Path   string `yaml:"path"`
	Method string `yaml:"method"`
	Host   string `yaml:"host"`
	// ExpectStatus lists codes or inclusive ranges ("200-399", the default).
	ExpectStatus []string `yaml:"expect_status"`
	// ExpectBody is a substring required in the first 64 KiB of the body.
	ExpectBody  string `yaml:"expect_body"`
	GRPCService string `yaml:"grpc_service"`
	// Send is the udp check's datagram; Expect, when set, must occur in
	// the reply.
	Send               string        `yaml:"send"`
	Expect             string        `yaml:"expect"`
	Interval           time.Duration `yaml:"interval"`
	Timeout            time.Duration `yaml:"timeout"`
	HealthyThreshold   int           `yaml:"healthy_threshold"`
	UnhealthyThreshold int           `yaml:"unhealthy_threshold"`
}

// OutlierDetection is passive health checking.
type OutlierDetection struct {
	Pos Pos `yaml:"-"`
	// ConsecutiveFailures (connect errors, resets, 5xx) before ejection.
	ConsecutiveFailures int           `yaml:"consecutive_failures"`
	BaseEjection        time.Duration `yaml:"base_ejection"`
	MaxEjection         time.Duration `yaml:"max_ejection"`
	MaxEjectedPercent   int           `yaml:"max_ejected_percent"`
}

// CircuitBreaker holds Envoy-style limits per upstream.
type CircuitBreaker struct {
	Pos         Pos `yaml:"-"`
	MaxInFlight int `yaml:"max_in_flight"`
	MaxPending  int `yaml:"max_pending"`
}

// RetryBudget caps retries in flight to max(min_concurrent, ratio × active requests).
type RetryBudget struct {
	Ratio         float64 `yaml:"ratio"`
	MinConcurrent int     `yaml:"min_concurrent"`
}

// Sticky is cookie affinity.
type Sticky struct {
	Pos    Pos           `yaml:"-"`
	Cookie string        `yaml:"cookie"`
	TTL    time.Duration `yaml:"ttl"`
	// Secret signs the cookie (HMAC-SHA256); empty = a random key per
	// process, so pins do not survive a restart or span instances.
	Secret   string `yaml:"secret"`
	Secure   bool   `yaml:"secure"`
	HTTPOnly bool   `yaml:"http_only"`
	// SameSite is lax (default), strict or none.
	SameSite string `yaml:"same_site"`
	Path     string `yaml:"path"`
}

// Discovery re-resolves DNS names in target URLs.
type Discovery struct {
	Interval time.Duration `yaml:"interval"`
	// SRV resolves each target's host as an SRV name (e.g.
	// http://_http._tcp.api.internal): ports and weights come from the
	// records, and only the most preferred priority with an address is
	// used, the others being its failover.
	SRV bool `yaml:"srv"`
}

// Retry is a route's retry policy.
type Retry struct {
	Pos Pos `yaml:"-"`
	// Attempts counts tries, the first included.
	Attempts int `yaml:"attempts"`
	// On lists conditions: connect-failure, reset, timeout, 5xx, or codes.
	On                 []string      `yaml:"on"`
	RetryNonIdempotent bool          `yaml:"retry_non_idempotent"`
	PerTryTimeout      time.Duration `yaml:"per_try_timeout"`
	BackoffBase        time.Duration `yaml:"backoff_base"`
	BackoffMax         time.Duration `yaml:"backoff_max"`
	// BackoffMin is the least wait before a retry (Gateway API's
	// retry.backoff); 0 = none.
	BackoffMin  time.Duration `yaml:"backoff_min"`
	BufferBytes int64         `yaml:"buffer_bytes" gatehouse:"size"`
	// SameTarget retries on the target that failed when the upstream has
	// no other available one (by default a retry needs another target).
	SameTarget bool `yaml:"same_target"`
}

// Target is one backend server of an upstream.
type Target struct {
	Pos Pos `yaml:"-"`
	// URL is normalized by Load to scheme://host:port (port made explicit).
	URL string `yaml:"url"`
	// Weight is 0..10000; 0 keeps the target configured but sends it
	// nothing.
	Weight int `yaml:"weight"`
	// Priority groups targets for failover: a higher number is used only
	// when no target of a lower one is available. Default 0.
	Priority int `yaml:"priority"`
	// RequestHeaders edits the headers of requests sent to this target
	// only, after the route's filters (Gateway API backendRef-level
	// RequestHeaderModifier). Not applied to targets found by discovery.
	RequestHeaders *HeaderFilter `yaml:"request_headers"`
}

// UpstreamTLS is the client side TLS used for https targets. Paths are
// absolute after Load.
type UpstreamTLS struct {
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	// SubjectAltNames, when set, replace the server_name check: the
	// target's certificate must chain to the CA and carry one of these
	// SANs, a DNS name (matched like a requested host, so certificate
	// wildcards count) or an absolute URI with a scheme (matched exactly,
	// e.g. a SPIFFE ID). server_name is then only the SNI (Gateway API
	// BackendTLSPolicy subjectAltNames).
	SubjectAltNames []string `yaml:"subject_alt_names"`
}

// Route matches requests and says what to do with them: forward to a
// backend, respond directly or redirect.
type Route struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Listeners names the listeners this route is attached to; empty means
	// all listeners.
	Listeners []string `yaml:"listeners"`
	// Match and Matches are mutually exclusive; Matches is an OR-list and
	// neither means the route matches every request.
	Match   *Match    `yaml:"match"`
	Matches []*Match  `yaml:"matches"`
	Filters []*Filter `yaml:"filters"`
	// Exactly one of Backend, Respond, Redirect and Compose is set.
	Backend  *Backend  `yaml:"backend"`
	Respond  *Respond  `yaml:"respond"`
	Redirect *Redirect `yaml:"redirect"`
	Compose  *Compose  `yaml:"compose"`
	// Timeout bounds the whole request; 0 disables it.
	Timeout time.Duration `yaml:"timeout"`
	// Retry replaces the default retry (one redispatch of idempotent
	// requests that failed to connect) for proxied requests.
	Retry *Retry `yaml:"retry"`
	// Policies are identity and edge-security policies.
	Policies *Policies `yaml:"policies"`
}

// Match is one set of conditions that must all hold (AND).
type Match struct {
	Pos Pos `yaml:"-"`
	// Hosts are lower-cased exact names or "*.example.com" wildcards,
	// without a port.
	Hosts []string   `yaml:"hosts"`
	Path  *PathMatch `yaml:"path"`
	// Methods are upper-cased by Load.
	Methods []string      `yaml:"methods"`
	Headers []*ValueMatch `yaml:"headers"`
	Query   []*ValueMatch `yaml:"query"`
	// Version selects requests that name this API version (see Versioning).
	Version string `yaml:"version"`
}

// PathMatch holds exactly one way of matching the request path.
type PathMatch struct {
	Pos    Pos    `yaml:"-"`
	Exact  string `yaml:"exact"`
	Prefix string `yaml:"prefix"`
	// Regex is RE2 syntax and known to compile.
	Regex string `yaml:"regex"`
	// Template is like /v1/users/{id} or /files/{path...}: variables are
	// whole segments and only the last may be a catch-all.
	Template string `yaml:"template"`
}

// ValueMatch matches one header or query parameter by exact value, regex or
// mere presence (exactly one of the three).
type ValueMatch struct {
	Pos     Pos    `yaml:"-"`
	Name    string `yaml:"name"`
	Value   string `yaml:"value"`
	Regex   string `yaml:"regex"`
	Present bool   `yaml:"present"`
}

// Filter is one step of request/response modification; exactly one field
// is set per list item, as in the Gateway API.
type Filter struct {
	Pos             Pos           `yaml:"-"`
	RequestHeaders  *HeaderFilter `yaml:"request_headers"`
	ResponseHeaders *HeaderFilter `yaml:"response_headers"`
	URLRewrite      *URLRewrite   `yaml:"url_rewrite"`
	// RequestMirror copies the request to another upstream (Gateway API RequestMirror); responses are discarded.
	RequestMirror *RequestMirror `yaml:"request_mirror"`
	// RequestBody and ResponseBody transform JSON bodies (schema_body.go).
	RequestBody  *BodyTransform `yaml:"request_body"`
	ResponseBody *BodyTransform `yaml:"response_body"`
	Deprecation  *Deprecation   `yaml:"deprecation"`
	// Query edits the query string (schema_query.go).
	Query *QueryFilter `yaml:"query"`
	// When, if set, is a CEL condition (see schema_query.go): the filter
	// applies only to requests (responses) for which it holds.
	When string `yaml:"when"`
}

// RequestMirror sends a copy of a share of the route's requests to an
// HTTP upstream, fire-and-forget (see package mirror).
type RequestMirror struct {
	Pos      Pos    `yaml:"-"`
	Upstream string `yaml:"upstream"`
	// Percent is the share of requests copied, 0 < percent <= 100
	// (default 100).
	Percent float64 `yaml:"percent"`
}

// HeaderFilter sets, adds and removes headers.
type HeaderFilter struct {
	Set    Templates `yaml:"set"`
	Add    Templates `yaml:"add"`
	Remove []string  `yaml:"remove"`
}

// URLRewrite rewrites the Host header and/or the path before forwarding.
type URLRewrite struct {
	Hostname string       `yaml:"hostname"`
	Path     *PathRewrite `yaml:"path"`
}

// PathRewrite holds exactly one way of rewriting the path.
type PathRewrite struct {
	ReplaceFullPath string `yaml:"replace_full_path"`
	// ReplacePrefixMatch replaces the matched prefix, so it is only
	// accepted on routes whose every match is a path prefix match.
	ReplacePrefixMatch string `yaml:"replace_prefix_match"`
}

// Backend forwards to an upstream.
type Backend struct {
	Pos      Pos    `yaml:"-"`
	Upstream string `yaml:"upstream"`
}

// Respond answers directly without contacting an upstream.
type Respond struct {
	Pos     Pos               `yaml:"-"`
	Status  int               `yaml:"status"`
	Headers map[string]string `yaml:"headers"`
	// Body holds the response body; after Load it also holds the content of
	// BodyFile, so consumers only read Body.
	Body     string `yaml:"body"`
	BodyFile string `yaml:"body_file"`
}

// Redirect answers with a redirect built from the request URL with the
// given parts replaced.
type Redirect struct {
	Pos    Pos    `yaml:"-"`
	Scheme string `yaml:"scheme"`
	Host   string `yaml:"host"`
	// Port 0 keeps the request's port when Scheme is empty, else uses
	// the scheme's well-known port (left out of Location, as 80 for http
	// and 443 for https always are).
	Port int `yaml:"port"`
	// Path replaces the whole path; ReplacePrefixMatch instead replaces
	// the part the route's prefix match matched, so it is only accepted
	// on routes whose every match is a path prefix match. At most one.
	Path               string `yaml:"path"`
	ReplacePrefixMatch string `yaml:"replace_prefix_match"`
	Status             int    `yaml:"status"`
}
