package translate

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/h1client"
	"github.com/gatehouse/gatehouse/internal/health"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// UpstreamTLS builds the client TLS configuration of an upstream.
func UpstreamTLS(u *config.Upstream) (*tls.Config, error) {
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
	if len(t.SubjectAltNames) > 0 && !t.InsecureSkipVerify {
		c.InsecureSkipVerify = true // verifySANs does the whole verification
		c.VerifyConnection = verifySANs(c.RootCAs, t.SubjectAltNames)
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

// Transport returns the transport for u. Plain-HTTP/1.1 targets go
// through h1client, a synchronous client that costs far less CPU per
// request than net/http's Transport; TLS, HTTP/2 and h2c go through
// net/http. An upstream may mix schemes, so the choice is per request.
// counters receive h1client's stale-connection events.
func Transport(u *config.Upstream, counters observe.UpstreamCounters) (http.RoundTripper, error) {
	tlsConf, err := UpstreamTLS(u)
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
		ProxyProtocol:         ProxyProtocolVersion(u.ProxyProtocol),
	})
	if u.Protocol == proxy.ProtocolHTTP2 || u.MaxIdlePerTarget <= 0 {
		return std, nil
	}
	h1 := h1client.New(h1client.Config{
		ConnectTimeout:        u.ConnectTimeout,
		IdleTimeout:           u.IdleTimeout,
		ResponseHeaderTimeout: u.ResponseHeaderTimeout,
		MaxIdlePerHost:        u.MaxIdlePerTarget,
		OnStaleConn:           counters.StaleConns.Inc,
		OnRetry:               counters.StaleRetries.Inc,
		ProxyProtocol:         ProxyProtocolVersion(u.ProxyProtocol),
	})
	return proxy.NewSchemeTransport(h1, std), nil
}

// Targets turns configured targets into balancer targets.
func Targets(u *config.Upstream) ([]*balancer.Target, error) {
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

// BalancerOptions translates an upstream's algorithm options. key signs
// sticky cookies when the configuration gives no secret.
func BalancerOptions(u *config.Upstream, key []byte) balancer.Options {
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

// HealthCheck translates the configuration (validated, defaults applied).
func HealthCheck(hc *config.HealthCheck, tlsConf *tls.Config) health.CheckConfig {
	c := health.CheckConfig{
		Type: hc.Type, Path: hc.Path, Method: hc.Method, Host: hc.Host, ExpectBody: hc.ExpectBody,
		GRPCService: hc.GRPCService, Send: hc.Send, Expect: hc.Expect, Interval: hc.Interval, Timeout: hc.Timeout,
		HealthyThreshold: hc.HealthyThreshold, UnhealthyThreshold: hc.UnhealthyThreshold, TLS: tlsConf,
	}
	for _, s := range hc.ExpectStatus {
		if lo, hi, err := config.ParseStatusRange(s); err == nil {
			c.ExpectStatus = append(c.ExpectStatus, [2]int{lo, hi})
		}
	}
	return c
}

// TransportKey is everything a transport is built from; equal keys share
// the transport across a reload.
type TransportKey struct {
	protocol                              string
	caFile, serverName, certFile, keyFile string
	insecure                              bool
	sans                                  string
	connect, idle, responseHeader         time.Duration
	maxIdle, proxyProtocol                int
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

// NewTransportKey is u's transport key; files count by their modification
// time, so a renewed certificate gives a new transport.
func NewTransportKey(u *config.Upstream) TransportKey {
	k := TransportKey{protocol: u.Protocol, connect: u.ConnectTimeout, idle: u.IdleTimeout,
		responseHeader: u.ResponseHeaderTimeout, maxIdle: u.MaxIdlePerTarget, proxyProtocol: ProxyProtocolVersion(u.ProxyProtocol)}
	if t := u.TLS; t != nil {
		k.caFile, k.serverName, k.certFile, k.keyFile, k.insecure = t.CAFile, t.ServerName, t.CertFile, t.KeyFile, t.InsecureSkipVerify
		k.caStamp, k.certStamp = fileStamp(t.CAFile), fileStamp(t.CertFile)
		k.sans = strings.Join(t.SubjectAltNames, "\n")
	}
	return k
}
