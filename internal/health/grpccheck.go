package health

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// grpcProber checks a target with the standard grpc.health.v1 Check RPC.
// Each check dials a fresh connection, like the HTTP check: a long-lived
// ClientConn would hide connect failures behind grpc-go's reconnect
// backoff, which can leave a recovered target out of rotation for far
// longer than the check interval.
type grpcProber struct {
	cfg   CheckConfig
	creds credentials.TransportCredentials // for https targets
}

func newGRPCProber(cfg CheckConfig) *grpcProber {
	return &grpcProber{cfg: cfg, creds: credentials.NewTLS(checkTLS(cfg))}
}

func (p *grpcProber) check(ctx context.Context, t *balancer.Target) error {
	creds := insecure.NewCredentials()
	if t.URL != nil && t.URL.Scheme == "https" {
		creds = p.creds
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithUserAgent("gatehouse-health-check/1"),
	}
	if p.cfg.Host != "" {
		opts = append(opts, grpc.WithAuthority(p.cfg.Host))
	}
	// passthrough hands the address to the dialer as is, so a host name is
	// resolved on every check, as the HTTP check does, with no resolver
	// goroutine living between checks.
	conn, err := grpc.NewClient("passthrough:///"+t.Addr, opts...)
	if err != nil {
		return err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: p.cfg.GRPCService})
	if err != nil {
		return err
	}
	if st := resp.GetStatus(); st != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc health status %s", st)
	}
	return nil
}

func (p *grpcProber) close() {}
