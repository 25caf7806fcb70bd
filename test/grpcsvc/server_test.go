package grpcsvc

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	pb "github.com/gatehouse/gatehouse/test/grpcsvc/librarypb"
)

// TestServer checks the test service itself: a call of each kind and the
// error details the transcoding tests rely on.
func TestServer(t *testing.T) {
	s := Start(t)
	cc, err := grpc.NewClient(s.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := pb.NewLibraryClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	b, err := c.GetBook(ctx, &pb.GetBookRequest{Name: "shelves/1/books/7"})
	if err != nil || b.Title != "Title of 7" {
		t.Fatalf("GetBook = %v, %v", b, err)
	}
	_, err = c.GetBook(ctx, &pb.GetBookRequest{Name: "shelves/1/books/missing"})
	if st := status.Convert(err); st.Code() != codes.NotFound || len(st.Details()) != 1 {
		t.Fatalf("GetBook(missing) = %v (details %v)", st, st.Details())
	}

	one := int32(1)
	stream, err := c.StreamBooks(ctx, &pb.StreamBooksRequest{Parent: "shelves/1", Count: 3, FailAfter: &one})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Aborted {
		t.Fatalf("second Recv = %v, want ABORTED", err)
	}

	gated, err := c.StreamBooks(ctx, &pb.StreamBooksRequest{Parent: "shelves/1", Count: 2, Gate: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s.Release(t)
		if _, err := gated.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := gated.Recv(); err != io.EOF {
		t.Fatalf("end of gated stream = %v", err)
	}

	up, err := c.UploadBooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"x", "y"} {
		if err := up.Send(&pb.Book{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if r, err := up.CloseAndRecv(); err != nil || r.Count != 2 {
		t.Fatalf("UploadBooks = %v, %v", r, err)
	}
}

// TestDescriptors: protoc's descriptor set holds the service with its
// google.api.http rules readable through the genproto extension.
func TestDescriptors(t *testing.T) {
	path := Descriptors(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	d, err := files.FindDescriptorByName("library.v1.Library.GetBook")
	if err != nil {
		t.Fatal(err)
	}
	rule, ok := proto.GetExtension(d.Options(), annotations.E_Http).(*annotations.HttpRule)
	if !ok || rule.GetGet() != "/v1/{name=shelves/*/books/*}" {
		t.Fatalf("GetBook rule = %v", rule)
	}
}
