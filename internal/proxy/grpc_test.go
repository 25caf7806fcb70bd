package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// trailerService is a unary gRPC method that sets trailer metadata and
// fails with PermissionDenied for the service name "deny".
var trailerService = grpc.ServiceDesc{
	ServiceName: "gatehouse.test.Trailers",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Check",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(healthpb.HealthCheckRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			grpc.SetTrailer(ctx, metadata.Pairs("x-checksum", "c0ffee"))
			if in.Service == "deny" {
				return nil, status.Error(codes.PermissionDenied, "denied: not you")
			}
			return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
		},
	}},
}

// h2cFront serves h through a real server that speaks HTTP/1.1 and h2c
// with prior knowledge, as a Gatehouse listener with h2c enabled does.
func h2cFront(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestGRPCOverH2C(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, health.NewServer()) // "" is SERVING
	gs.RegisterService(&trailerService, struct{}{})
	go gs.Serve(l)
	t.Cleanup(gs.Stop)

	var hits counter
	rt := NewTransport(TransportConfig{Protocol: ProtocolHTTP2, ConnectTimeout: time.Second, MaxIdlePerTarget: 4})
	t.Cleanup(rt.(IdleCloser).CloseIdleConnections)
	s := h2cFront(t, New(Options{Pool: newPool(t, "http://"+l.Addr().String()), Transport: rt, OnUpstreamError: hits.hook}))

	cc, err := grpc.NewClient("passthrough:///"+hostOf(s), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("unary", func(t *testing.T) {
		res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("%v, %v", res, err)
		}
	})
	t.Run("trailers-only error", func(t *testing.T) {
		_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
		if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "unknown service" {
			t.Fatalf("status %v", st)
		}
	})
	t.Run("trailer metadata", func(t *testing.T) {
		var md metadata.MD
		out := new(healthpb.HealthCheckResponse)
		err := cc.Invoke(ctx, "/gatehouse.test.Trailers/Check", &healthpb.HealthCheckRequest{}, out, grpc.Trailer(&md))
		if err != nil || out.Status != healthpb.HealthCheckResponse_SERVING || len(md["x-checksum"]) != 1 || md["x-checksum"][0] != "c0ffee" {
			t.Fatalf("%v, trailer %v, %v", out, md, err)
		}
	})
	t.Run("error with trailer metadata", func(t *testing.T) {
		var md metadata.MD
		err := cc.Invoke(ctx, "/gatehouse.test.Trailers/Check", &healthpb.HealthCheckRequest{Service: "deny"},
			new(healthpb.HealthCheckResponse), grpc.Trailer(&md))
		if st := status.Convert(err); st.Code() != codes.PermissionDenied || st.Message() != "denied: not you" || md.Get("x-checksum")[0] != "c0ffee" {
			t.Fatalf("status %v, trailer %v", st, md)
		}
	})
	if hits.total() != 0 {
		t.Fatalf("upstream errors %d", hits.total())
	}
}

// protoUpstream reports the HTTP major version and SNI of each request.
func protoUpstream(t *testing.T, tlsOn bool) (*httptest.Server, <-chan [2]any) {
	ch := make(chan [2]any, 4)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		ch <- [2]any{r.ProtoMajor, sni}
	}))
	if tlsOn {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Config.Protocols = new(http.Protocols)
		s.Config.Protocols.SetHTTP1(true)
		s.Config.Protocols.SetUnencryptedHTTP2(true)
		s.Start()
	}
	t.Cleanup(s.Close)
	return s, ch
}

func TestUpstreamProtocols(t *testing.T) {
	tlsUp, tlsGot := protoUpstream(t, true)
	plainUp, plainGot := protoUpstream(t, false)
	roots := x509.NewCertPool()
	roots.AddCert(tlsUp.Certificate())
	testCA := &tls.Config{RootCAs: roots, ServerName: "example.com"} // httptest's certificate names example.com

	cases := []struct {
		name      string
		upstream  *httptest.Server
		got       <-chan [2]any
		c         TransportConfig
		wantMajor int
	}{
		{"auto https negotiates h2", tlsUp, tlsGot, TransportConfig{TLS: testCA}, 2},
		{"http1 https", tlsUp, tlsGot, TransportConfig{Protocol: ProtocolHTTP1, TLS: testCA}, 1},
		{"http2 https", tlsUp, tlsGot, TransportConfig{Protocol: ProtocolHTTP2, TLS: testCA}, 2},
		{"auto http is HTTP/1.1", plainUp, plainGot, TransportConfig{}, 1},
		{"http2 http is h2c", plainUp, plainGot, TransportConfig{Protocol: ProtocolHTTP2}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.MaxIdlePerTarget = 2
			rt := NewTransport(tc.c)
			defer rt.(IdleCloser).CloseIdleConnections()
			s := front(t, Options{Pool: newPool(t, tc.upstream.URL), Transport: rt})
			res, err := http.Get(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("status %d", res.StatusCode)
			}
			got := <-tc.got
			wantSNI := ""
			if tc.c.TLS != nil {
				wantSNI = "example.com"
			}
			if got[0] != tc.wantMajor || got[1] != wantSNI {
				t.Fatalf("upstream saw HTTP/%v with SNI %q", got[0], got[1])
			}
		})
	}
	t.Run("untrusted certificate", func(t *testing.T) {
		var hits counter
		rt := NewTransport(TransportConfig{TLS: &tls.Config{ServerName: "example.com"}, MaxIdlePerTarget: 2})
		s := front(t, Options{Pool: newPool(t, tlsUp.URL), Transport: rt, OnUpstreamError: hits.hook})
		res, err := http.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadGateway || hits.total() != 1 {
			t.Fatalf("status %d, upstream errors %d", res.StatusCode, hits.total())
		}
	})
}
