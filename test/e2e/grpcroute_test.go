package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGRPCRouteTranslated: a GRPCRoute translated by "gatehouse translate"
// and run by the real binary carries gRPC end to end: the http listener
// serves h2c to a grpc-go client, the upstream speaks h2c to the grpc-go
// server, the method match picks the rule, a rule without backend answers
// UNAVAILABLE, and a method no rule matches is UNIMPLEMENTED.
func TestGRPCRouteTranslated(t *testing.T) {
	t.Parallel()
	gb := newGRPCBackend(t)
	_, backendPort, err := net.SplitHostPort(gb.addr)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	manifests := fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: gatehouse
  listeners: [{name: grpc, protocol: HTTP, port: %d}]
---
apiVersion: v1
kind: Service
metadata: {name: health}
spec: {ports: [{name: grpc, port: 50051}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: health-1, labels: {kubernetes.io/service-name: health}}
addressType: IPv4
ports: [{name: grpc, port: %s}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: health}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{method: {service: grpc.health.v1.Health, method: Check}}]
    backendRefs: [{name: health, port: 50051}]
  - matches: [{method: {service: grpc.health.v1.Health, method: Watch}}]
`, port, backendPort)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "grpc.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCommand(t, "translate", "-c", dir, "-listen-host", "127.0.0.1")
	if code != 0 {
		t.Fatalf("translate exit %d:\n%s", code, errOut)
	}
	startGateway(t, out)

	cc, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx := ctxT(t, 20*time.Second)

	res, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check through the translated GRPCRoute: %v %v\n%s", res, err, out)
	}
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = stream.Recv()
	}
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable {
		t.Errorf("Watch (rule without backend): %v, want Unavailable", err)
	}
	err = cc.Invoke(ctx, "/no.Such/Method", &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{})
	if st, _ := status.FromError(err); st.Code() != codes.Unimplemented {
		t.Errorf("unmatched method: %v, want Unimplemented", err)
	}
}
