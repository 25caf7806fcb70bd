package health

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Check types accepted in CheckConfig.Type.
const (
	CheckHTTP = "http"
	CheckTCP  = "tcp"
	CheckGRPC = "grpc"
	CheckTLS  = "tls"
	CheckUDP  = "udp"
)

// Defaults applied to zero fields of CheckConfig and OutlierConfig. Zero
// means "default" so that a config struct built from YAML with the field
// absent needs no special casing by the caller.
const (
	DefaultInterval           = 5 * time.Second
	DefaultTimeout            = time.Second
	DefaultJitter             = 0.1
	DefaultHealthyThreshold   = 2
	DefaultUnhealthyThreshold = 3

	DefaultConsecutiveFailures = 5
	DefaultBaseEjection        = 30 * time.Second
	DefaultMaxEjection         = 300 * time.Second
	DefaultMaxEjectedPercent   = 50
)

// maxBody bounds how much of a check response is read: enough for any
// sensible health page, small enough that a misbehaving target cannot make
// the gateway buffer megabytes every interval.
const maxBody = 64 << 10

// CheckConfig configures the active health checks of one upstream. The zero
// value is valid: an HTTP GET / every 5s±10% with a 1s timeout, healthy on
// 200–399, down after 3 failures and back after 2 successes.
type CheckConfig struct {
	// Type is "http" (the default when empty), "tcp" (connect only),
	// "tls" (connect and TLS handshake), "udp" (a datagram probe: Send,
	// then Expect in the reply) or "grpc" (grpc.health.v1 Check).
	// Targets may be http(s)://, tcp:// or udp:// URLs; an http check of a
	// tcp:// target speaks plain HTTP to it.
	Type string
	// Path is the request path, query included (http; default "/").
	Path string
	// Method is the request method (http; default GET).
	Method string
	// Host overrides the Host header (http) or :authority (grpc). For https
	// targets it is also the TLS server name unless TLS.ServerName is set,
	// because targets are usually addressed by IP.
	Host string
	// ExpectStatus lists inclusive status ranges counted as healthy (http;
	// default [[200, 399]]). Redirects are not followed, so 3xx is a status
	// like any other.
	ExpectStatus [][2]int
	// ExpectBody, when set, must occur in the first 64 KiB of the body.
	ExpectBody string
	// Send is the datagram a udp check sends (required for udp: an empty
	// datagram is a probe most UDP services silently ignore).
	Send string
	// Expect, when set, must occur in the reply to a udp check; empty
	// accepts any reply. No reply within Timeout, or an ICMP port
	// unreachable (ECONNREFUSED), is a failure.
	Expect string
	// GRPCService is the service name sent in the grpc.health.v1 Check
	// request; "" asks about the server as a whole.
	GRPCService string
	// Interval is the time between the end of one check of a target and the
	// start of the next (default 5s). Timeout bounds one check (default 1s).
	Interval, Timeout time.Duration
	// Jitter spreads checks by ± this fraction of Interval so that many
	// gateways (or many targets) do not probe in lock-step. 0 means the
	// default 0.1; a negative value disables jitter; at most 1.
	Jitter float64
	// HealthyThreshold consecutive successes bring an unhealthy target back
	// (default 2); UnhealthyThreshold consecutive failures take a healthy
	// one down (default 3).
	HealthyThreshold, UnhealthyThreshold int
	// TLS is the client configuration for https targets (and gRPC checks of
	// https targets) and for tls checks; nil means system roots. http targets are always
	// checked in plaintext, so the upstream's TLS config can be passed
	// unconditionally.
	TLS *tls.Config
}

// Validate reports the first problem with c, naming the field, so the
// config package can attach a file:line to it.
func (c CheckConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults returns c with defaults filled in, or why it is unusable.
func (c CheckConfig) withDefaults() (CheckConfig, error) {
	c.Type = strings.ToLower(c.Type)
	switch c.Type {
	case "":
		c.Type = CheckHTTP
	case CheckHTTP, CheckTCP, CheckTLS, CheckGRPC:
	case CheckUDP:
		if c.Send == "" {
			return c, errors.New("health check type udp needs send: the datagram to probe with")
		}
		if len(c.Send) > maxDatagram {
			return c, fmt.Errorf("health check send is %d bytes, more than a UDP datagram holds (%d)", len(c.Send), maxDatagram)
		}
	default:
		return c, fmt.Errorf("health check type %q is not supported (use http, tcp, tls, udp or grpc)", c.Type)
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if !strings.HasPrefix(c.Path, "/") {
		return c, fmt.Errorf("health check path %q must start with /", c.Path)
	}
	if _, err := url.ParseRequestURI(c.Path); err != nil {
		return c, fmt.Errorf("health check path %q: %v", c.Path, err)
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if strings.ContainsAny(c.Method, " \t\r\n") {
		return c, fmt.Errorf("health check method %q is not a valid HTTP method", c.Method)
	}
	if len(c.ExpectStatus) == 0 {
		c.ExpectStatus = [][2]int{{200, 399}}
	}
	for _, r := range c.ExpectStatus {
		if r[0] < 100 || r[1] > 599 || r[0] > r[1] {
			return c, fmt.Errorf("health check expected status range [%d, %d] must lie within 100–599, low to high", r[0], r[1])
		}
	}
	if c.Interval < 0 || c.Timeout < 0 {
		return c, errors.New("health check interval and timeout must not be negative")
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Jitter == 0:
		c.Jitter = DefaultJitter
	case c.Jitter < 0:
		c.Jitter = 0
	case c.Jitter > 1:
		return c, fmt.Errorf("health check jitter %g must be a fraction of the interval, at most 1", c.Jitter)
	}
	if c.HealthyThreshold < 0 || c.UnhealthyThreshold < 0 {
		return c, errors.New("health check thresholds must not be negative")
	}
	if c.HealthyThreshold == 0 {
		c.HealthyThreshold = DefaultHealthyThreshold
	}
	if c.UnhealthyThreshold == 0 {
		c.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	return c, nil
}

// OutlierConfig configures passive outlier detection of one upstream: the
// proxy reports every attempt, and a target that fails too often in a row
// is ejected for a while. The zero value is valid and uses the defaults.
type OutlierConfig struct {
	// ConsecutiveFailures ejects a target after this many failed attempts
	// in a row (connect error, reset or 5xx). 0 means the default 5; a
	// negative value disables ejection (Report becomes a counter reset).
	ConsecutiveFailures int
	// BaseEjection is how long the first ejection lasts (default 30s); the
	// n-th lasts n × BaseEjection, capped at MaxEjection (default 300s).
	// Each BaseEjection a target spends in rotation without being ejected
	// takes one off n, so an old incident does not inflate new ejections.
	BaseEjection, MaxEjection time.Duration
	// MaxEjectedPercent caps the share of the upstream's targets ejected at
	// once (default 50, at most 100). As in Envoy, the first ejection is
	// always allowed even when the share rounds down to zero targets, so a
	// one- or two-target upstream can still eject its bad target; a further
	// ejection happens only while ejected/targets stays within the share.
	MaxEjectedPercent int
}

// Validate reports the first problem with c.
func (c OutlierConfig) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c OutlierConfig) withDefaults() (OutlierConfig, error) {
	if c.BaseEjection < 0 || c.MaxEjection < 0 {
		return c, errors.New("outlier ejection times must not be negative")
	}
	if c.MaxEjectedPercent < 0 || c.MaxEjectedPercent > 100 {
		return c, fmt.Errorf("outlier max ejected percent %d must be within 0–100", c.MaxEjectedPercent)
	}
	if c.ConsecutiveFailures == 0 {
		c.ConsecutiveFailures = DefaultConsecutiveFailures
	}
	if c.BaseEjection == 0 {
		c.BaseEjection = DefaultBaseEjection
	}
	if c.MaxEjection == 0 {
		c.MaxEjection = max(DefaultMaxEjection, c.BaseEjection)
	}
	if c.MaxEjection < c.BaseEjection {
		return c, fmt.Errorf("outlier max ejection %v is shorter than base ejection %v", c.MaxEjection, c.BaseEjection)
	}
	if c.MaxEjectedPercent == 0 {
		c.MaxEjectedPercent = DefaultMaxEjectedPercent
	}
	return c, nil
}
