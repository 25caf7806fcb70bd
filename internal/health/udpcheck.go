package health

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// maxDatagram is the largest UDP payload over IPv4 (65535 − 8 byte UDP
// header − 20 byte IP header, RFC 768 / RFC 791): the bound on what a udp
// check sends and the size of its receive buffer, so a reply is never
// truncated into a false "Expect not found".
const maxDatagram = 65507

// udpProber checks a UDP target by sending cfg.Send and waiting for one
// reply that contains cfg.Expect. UDP has no connection to open, so a
// reply is the only evidence of a live service; a connected socket makes
// the kernel report an ICMP port unreachable as ECONNREFUSED on the read,
// which fails the check at once instead of waiting out the timeout. Each
// check uses a fresh socket (fresh source port), so a late reply to an
// earlier probe can never vouch for this one.
type udpProber struct {
	cfg    CheckConfig
	send   []byte
	expect []byte
}

func newUDPProber(cfg CheckConfig) *udpProber {
	return &udpProber{cfg: cfg, send: []byte(cfg.Send), expect: []byte(cfg.Expect)}
}

func (p *udpProber) check(ctx context.Context, t *balancer.Target) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", t.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(p.cfg.Timeout)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	// Stop the read when the checker is stopped mid-check, not only at
	// the deadline.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(p.send); err != nil {
		return err
	}
	buf := make([]byte, maxDatagram)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if !bytes.Contains(buf[:n], p.expect) {
		return fmt.Errorf("reply of %d bytes does not contain %q", n, p.cfg.Expect)
	}
	return nil
}

func (p *udpProber) close() {}
