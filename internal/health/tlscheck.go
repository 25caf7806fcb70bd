package health

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// tlsProber checks that a TCP connection to the target can be opened and a
// TLS handshake completed within the timeout, then closes it. It proves
// more than the tcp check (the target's TLS stack answers and, unless
// verification is off in the config, presents a certificate the gateway
// trusts for the server name) without knowing the protocol inside, which
// makes it the check for TLS passthrough and TLS upstreams of L4 routes.
type tlsProber struct {
	dialer tls.Dialer
}

// newTLSProber uses cfg.TLS (the upstream's client configuration: roots,
// client certificate, InsecureSkipVerify) with cfg.Host as server name
// when cfg.TLS sets none, as the https check does (checkTLS). With neither,
// crypto/tls takes the server name from the target's host.
func newTLSProber(cfg CheckConfig) *tlsProber {
	return &tlsProber{dialer: tls.Dialer{
		NetDialer: &net.Dialer{Timeout: cfg.Timeout},
		Config:    checkTLS(cfg),
	}}
}

func (p *tlsProber) check(ctx context.Context, t *balancer.Target) error {
	// DialContext completes the handshake before it returns (and bounds it
	// by ctx, the check's timeout).
	conn, err := p.dialer.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (p *tlsProber) close() {}
