package health

import (
	"context"
	"net"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// tcpProber checks that a connection to the target can be opened within
// the timeout, then closes it. It says nothing about the protocol spoken,
// which is why it is for targets that have no health endpoint.
type tcpProber struct {
	dialer net.Dialer
}

func newTCPProber(cfg CheckConfig) *tcpProber {
	return &tcpProber{dialer: net.Dialer{Timeout: cfg.Timeout}}
}

func (p *tcpProber) check(ctx context.Context, t *balancer.Target) error {
	conn, err := p.dialer.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

func (p *tcpProber) close() {}
