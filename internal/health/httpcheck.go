package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// httpProber checks a target with one HTTP request. It owns its transport:
// sharing the proxy's pool would let a check ride on (and vouch for) a
// connection opened long ago, and would let checks evict request traffic's
// idle connections. Keep-alives are off so every check proves that a new
// connection can be made, the way the proxy's next request may need to.
type httpProber struct {
	cfg    CheckConfig
	client *http.Client
	body   []byte // cfg.ExpectBody, converted once
}

func newHTTPProber(cfg CheckConfig) *httpProber {
	tr := &http.Transport{
		Proxy:                  nil, // never route checks through HTTP_PROXY
		DialContext:            (&net.Dialer{Timeout: cfg.Timeout}).DialContext,
		TLSClientConfig:        checkTLS(cfg),
		TLSHandshakeTimeout:    cfg.Timeout,
		DisableKeepAlives:      true,
		DisableCompression:     true, // match ExpectBody against the bytes the target sent
		MaxResponseHeaderBytes: maxBody,
	}
	return &httpProber{
		cfg: cfg,
		client: &http.Client{
			Transport: tr,
			// A redirect is the target's answer, judged by ExpectStatus;
			// following it would check some other server.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		body: []byte(cfg.ExpectBody),
	}
}

// checkTLS is cfg.TLS, with the Host override as server name when none is
// set: targets are usually addressed by IP, which no certificate names.
func checkTLS(cfg CheckConfig) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		c = cfg.TLS.Clone()
	}
	if c.ServerName == "" && cfg.Host != "" {
		if h, _, err := net.SplitHostPort(cfg.Host); err == nil {
			c.ServerName = h
		} else {
			c.ServerName = cfg.Host
		}
	}
	return c
}

func (p *httpProber) check(ctx context.Context, t *balancer.Target) error {
	// An L4 upstream's tcp:// target speaks whatever the route carries;
	// an http check of it speaks plain HTTP, as for http:// targets.
	scheme := "http"
	if t.URL != nil {
		switch t.URL.Scheme {
		case "https":
			scheme = "https"
		case "udp":
			return fmt.Errorf("an http check cannot probe the UDP target %s (use a udp check)", t.Addr)
		}
	}
	req, err := http.NewRequestWithContext(ctx, p.cfg.Method, scheme+"://"+t.Addr+p.cfg.Path, nil)
	if err != nil {
		return err
	}
	if p.cfg.Host != "" {
		req.Host = p.cfg.Host
	}
	req.Header.Set("User-Agent", "gatehouse-health-check/1")
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	// Keep-alives are off, so closing drops the connection: there is no
	// reason to drain an arbitrarily long body to reuse it.
	defer resp.Body.Close()
	if !statusExpected(resp.StatusCode, p.cfg.ExpectStatus) {
		return fmt.Errorf("status %d, want %s", resp.StatusCode, formatRanges(p.cfg.ExpectStatus))
	}
	if len(p.body) == 0 {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if !bytes.Contains(b, p.body) {
		if err != nil {
			return fmt.Errorf("reading body: %w", err)
		}
		return fmt.Errorf("body does not contain %q in its first %d KiB", p.cfg.ExpectBody, maxBody>>10)
	}
	return nil
}

func (p *httpProber) close() { p.client.CloseIdleConnections() }

func statusExpected(code int, ranges [][2]int) bool {
	for _, r := range ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

func formatRanges(ranges [][2]int) string {
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		if r[0] == r[1] {
			parts[i] = fmt.Sprint(r[0])
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r[0], r[1])
		}
	}
	return strings.Join(parts, ",")
}
