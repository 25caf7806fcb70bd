package gatewayapi

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/websocket"
	"sigs.k8s.io/gateway-api/conformance/utils/grpc"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
)

// portOffset moves every Gateway listener port (80 → 10080) so no
// privilege is needed; dialGateway moves it back for the suite.
const portOffset = 10000

// gatewayNet holds the Gateways' addresses (127.0.100.N, see
// controller.plane): loopback addresses of their own, so the ports their
// data planes bind cannot collide with other programs on 127.0.0.1.
var gatewayNet = netip.MustParsePrefix("127.0.100.0/24")

// dialGateway is the suite's dialer: a Gateway listener port P at an
// address of gatewayNet is reached at P+portOffset. Anything but a loopback IP is
// refused, so no test traffic can leave the machine.
func dialGateway(ctx context.Context, network, addr string) (net.Conn, error) {
	mapped, err := mapAddr(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return d.DialContext(ctx, network, mapped)
}

func mapAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("refusing to dial %s: only loopback addresses are reachable in this harness", addr)
	}
	if a, err := netip.ParseAddr(host); err != nil || !gatewayNet.Contains(a) {
		return addr, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(p+portOffset)), nil
}

// grpcClient is the suite's gRPC client with the same address mapping.
// Like the suite's own default (a nil GRPCClient), each call uses a
// connection of its own: grpc.DefaultClient keeps the first address and
// :authority it dialed, and successive tests use other Gateways (other
// addresses) and hosts.
type grpcClient struct{}

func (grpcClient) SendRPC(t *testing.T, address string, expected grpc.ExpectedResponse, timeout time.Duration) (*grpc.Response, error) {
	mapped, err := mapAddr(address)
	if err != nil {
		return nil, err
	}
	c := &grpc.DefaultClient{}
	defer c.Close()
	return c.SendRPC(t, mapped, expected, timeout)
}

func (grpcClient) Close() {}

// roundTripper is the suite's round tripper with the address mapping for
// every protocol: the default one dials through CustomDialContext except
// for h2c prior knowledge, which dials the URL's address itself, so that
// request goes to the mapped address with the original Host.
type roundTripper struct {
	roundtripper.DefaultRoundTripper
}

func (rt *roundTripper) CaptureRoundTrip(req roundtripper.Request) (*roundtripper.CapturedRequest, *roundtripper.CapturedResponse, error) {
	if req.Protocol == roundtripper.H2CPriorKnowledgeProtocol {
		addr := req.URL.Host
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "80")
		}
		mapped, err := mapAddr(addr)
		if err != nil {
			return nil, nil, err
		}
		if req.Host == "" {
			req.Host = req.URL.Host
		}
		req.URL.Host = mapped
	}
	return rt.DefaultRoundTripper.CaptureRoundTrip(req)
}

// wsDialer is the suite's WebSocket dialer with the address mapping.
type wsDialer struct{}

func (wsDialer) Dial(rawURL, protocol, origin string) (*websocket.Conn, error) {
	cfg, err := websocket.NewConfig(rawURL, origin)
	if err != nil {
		return nil, err
	}
	if protocol != "" {
		cfg.Protocol = []string{protocol}
	}
	addr := cfg.Location.Host
	if cfg.Location.Port() == "" {
		addr = net.JoinHostPort(addr, "80")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dialGateway(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	ws, err := websocket.NewClient(cfg, conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return ws, nil
}

func TestMapAddr(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.100.1:80":   "127.0.100.1:10080",
		"127.0.100.7:8443": "127.0.100.7:18443",
		"127.1.0.5:3000":   "127.1.0.5:3000",
	} {
		if got, err := mapAddr(in); err != nil || got != want {
			t.Errorf("mapAddr(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"192.0.2.1:80", "example.com:80", "nonsense"} {
		if got, err := mapAddr(in); err == nil {
			t.Errorf("mapAddr(%s) = %s, want an error", in, got)
		}
	}
}
