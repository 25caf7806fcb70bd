package gatewayapi

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	pb "sigs.k8s.io/gateway-api/conformance/echo-basic/grpcechoserver"
)

// grpcEcho is echo-basic's gRPC mode (conformance/echo-basic/grpc,
// plaintext only): each method answers with the fully qualified method,
// the request metadata, the :authority and the pod's context, which the
// suite's gRPC client (conformance/utils/grpc) compares.
type grpcEcho struct {
	pb.UnimplementedGrpcEchoServer
	ctx *pb.Context
}

func (s *grpcEcho) echo(ctx context.Context, method string) (*pb.EchoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	a := &pb.Assertions{
		FullyQualifiedMethod: "/" + string(pb.File_grpcecho_proto.Services().ByName("GrpcEcho").FullName()) + "/" + method,
		Context:              s.ctx,
	}
	for k, vs := range md {
		for _, v := range vs {
			if k == ":authority" {
				a.Authority = v
			}
			a.Headers = append(a.Headers, &pb.Header{Key: k, Value: v})
		}
	}
	return &pb.EchoResponse{Assertions: a}, nil
}

func (s *grpcEcho) Echo(ctx context.Context, _ *pb.EchoRequest) (*pb.EchoResponse, error) {
	return s.echo(ctx, "Echo")
}

func (s *grpcEcho) EchoTwo(ctx context.Context, _ *pb.EchoRequest) (*pb.EchoResponse, error) {
	return s.echo(ctx, "EchoTwo")
}

func (p *pod) serveGRPC(port string, ec echoContext) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(p.ip, port))
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	pb.RegisterGrpcEchoServer(s, &grpcEcho{ctx: &pb.Context{
		Namespace: ec.Namespace, Ingress: ec.Ingress, ServiceName: ec.Service, Pod: ec.Pod,
	}})
	go s.Serve(ln)
	p.closers = append(p.closers, s.Stop)
	return nil
}
