package health

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// startGRPCHealth serves the standard health service on loopback.
func startGRPCHealth(t *testing.T) (addr string, hs *grpchealth.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs = grpchealth.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(ln)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-served
	})
	return ln.Addr().String(), hs
}

func TestGRPCCheck(t *testing.T) {
	addr, hs := startGRPCHealth(t)
	hs.SetServingStatus("gatehouse.Users", healthpb.HealthCheckResponse_NOT_SERVING)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tg := newTarget(t, "http://"+addr)

	if err := newGRPCProber(CheckConfig{}).check(ctx, tg); err != nil {
		t.Fatalf("server-wide status (\"\") is SERVING: %v", err)
	}
	err := newGRPCProber(CheckConfig{GRPCService: "gatehouse.Users"}).check(ctx, tg)
	if err == nil || !strings.Contains(err.Error(), "NOT_SERVING") {
		t.Fatalf("NOT_SERVING service: err = %v", err)
	}
	if err := newGRPCProber(CheckConfig{GRPCService: "unknown.Service"}).check(ctx, tg); err == nil {
		t.Fatal("unknown service passed")
	}
	if err := newGRPCProber(CheckConfig{}).check(ctx, newTarget(t, "http://"+closedAddr(t))); err == nil {
		t.Fatal("closed port passed the gRPC check")
	}
}

// TestGRPCChecker: the target follows the health server's SERVING /
// NOT_SERVING status for the configured service.
func TestGRPCChecker(t *testing.T) {
	addr, hs := startGRPCHealth(t)
	hs.SetServingStatus("gatehouse.Users", healthpb.HealthCheckResponse_SERVING)
	reg, _, logs := testRegistry(t)
	tg := newTarget(t, "http://"+addr)
	c, err := NewChecker(reg, fastCheck(CheckConfig{Type: "grpc", GRPCService: "gatehouse.Users", HealthyThreshold: 1, UnhealthyThreshold: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	c.Update([]*balancer.Target{tg})

	hs.SetServingStatus("gatehouse.Users", healthpb.HealthCheckResponse_NOT_SERVING)
	waitFor(t, "NOT_SERVING target to go down", func() bool { return !tg.Available() })
	if attrs, ok := logs.find("target failed active health check"); !ok || !strings.Contains(attrs["reason"], "NOT_SERVING") {
		t.Fatalf("transition log = %v, %v", attrs, ok)
	}
	hs.SetServingStatus("gatehouse.Users", healthpb.HealthCheckResponse_SERVING)
	waitFor(t, "SERVING target to come back", func() bool { return tg.Available() })
}
