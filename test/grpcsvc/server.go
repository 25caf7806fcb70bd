package grpcsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/gatehouse/gatehouse/test/grpcsvc/librarypb"
)

// Published is every book's publication time (fixed, so tests can compare
// JSON output exactly).
var Published = time.Date(2020, 5, 17, 12, 30, 0, 0, time.UTC)

// Server is a running Library server.
type Server struct {
	// Addr is host:port of the h2c listener on 127.0.0.1.
	Addr string

	gate chan struct{}
	mu   sync.Mutex
	md   metadata.MD
}

// Start runs a Library server (with server reflection, v1 and v1alpha) on
// a free loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, stop, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// Listen runs a Library server on addr until stop is called (for
// benchmarks and manual runs: cmd/librarysvc).
func Listen(addr string) (s *Server, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	s = &Server{Addr: ln.Addr().String(), gate: make(chan struct{})}
	gs := grpc.NewServer()
	pb.RegisterLibraryServer(gs, &library{s: s})
	reflection.Register(gs)
	done := make(chan struct{})
	go func() {
		defer close(done)
		gs.Serve(ln)
	}()
	return s, func() {
		gs.Stop()
		<-done
	}, nil
}

// Release lets one gated StreamBooks message go (see the proto). It
// blocks until a gated stream takes it, at most 10 s (then the test fails).
func (s *Server) Release(t testing.TB) {
	t.Helper()
	select {
	case s.gate <- struct{}{}:
	case <-time.After(10 * time.Second):
		t.Fatal("grpcsvc: no gated stream took the release within 10s")
	}
}

// LastMetadata is the incoming metadata of the most recent call.
func (s *Server) LastMetadata() metadata.MD {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.md.Copy()
}

func (s *Server) record(ctx context.Context) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.md = md
	s.mu.Unlock()
}

// library implements library.v1.Library as its proto comments say.
type library struct {
	pb.UnimplementedLibraryServer
	s *Server
}

// Book is the book the server returns for name (shelves/S/books/ID).
func Book(name string) *pb.Book {
	id := name[strings.LastIndexByte(name, '/')+1:]
	return &pb.Book{
		Name:      name,
		Title:     "Title of " + id,
		Author:    "Author of " + id,
		Pages:     100,
		Genre:     pb.Genre_FICTION,
		Published: timestamppb.New(Published),
		Tags:      []string{"a", "b"},
		Cover:     []byte{0xff, 0x00, 0x7f},
	}
}

// bookError is the error GetBook and DeleteBook give for the special ids.
func bookError(ctx context.Context, name string) error {
	id := name[strings.LastIndexByte(name, '/')+1:]
	switch id {
	case "missing":
		st, _ := status.New(codes.NotFound, "book "+name+" not found").WithDetails(&errdetails.ResourceInfo{
			ResourceType: "library.v1.Book", ResourceName: name, Description: "no such book",
		})
		return st.Err()
	case "invalid":
		st, _ := status.New(codes.InvalidArgument, "invalid book name").WithDetails(&errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "name", Description: "the book id \"invalid\" is reserved"}},
		})
		return st.Err()
	case "slow":
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}

func (l *library) GetBook(ctx context.Context, r *pb.GetBookRequest) (*pb.Book, error) {
	l.s.record(ctx)
	if err := bookError(ctx, r.Name); err != nil {
		return nil, err
	}
	return Book(r.Name), nil
}

func (l *library) ListBooks(ctx context.Context, r *pb.ListBooksRequest) (*pb.ListBooksResponse, error) {
	l.s.record(ctx)
	resp := &pb.ListBooksResponse{Echo: r}
	ids := r.Ids
	if len(ids) == 0 {
		ids = []string{"1", "2"}
	}
	for _, id := range ids {
		resp.Books = append(resp.Books, Book(r.Parent+"/books/"+id))
	}
	return resp, nil
}

func (l *library) CreateBook(ctx context.Context, r *pb.CreateBookRequest) (*pb.Book, error) {
	l.s.record(ctx)
	if r.Book == nil {
		return nil, status.Error(codes.InvalidArgument, "book is required")
	}
	b := r.Book
	id := b.Name
	if id == "" {
		id = "new"
	}
	b.Name = r.Parent + "/books/" + id
	if r.RequestId != "" {
		b.Tags = append(b.Tags, "request_id:"+r.RequestId)
	}
	return b, nil
}

func (l *library) UpdateBook(ctx context.Context, r *pb.UpdateBookRequest) (*pb.Book, error) {
	l.s.record(ctx)
	if r.Book == nil {
		return nil, status.Error(codes.InvalidArgument, "book is required")
	}
	b := r.Book
	for _, p := range r.UpdateMask.GetPaths() {
		b.Tags = append(b.Tags, "updated:"+p)
	}
	return b, nil
}

func (l *library) DeleteBook(ctx context.Context, r *pb.DeleteBookRequest) (*emptypb.Empty, error) {
	l.s.record(ctx)
	if err := bookError(ctx, r.Name); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (l *library) ArchiveBook(ctx context.Context, r *pb.ArchiveBookRequest) (*pb.Book, error) {
	l.s.record(ctx)
	b := Book(r.Name)
	b.Title = "archived: " + r.Reason
	return b, nil
}

func (l *library) GetShelf(ctx context.Context, r *pb.GetShelfRequest) (*pb.Shelf, error) {
	l.s.record(ctx)
	return &pb.Shelf{Name: r.Name, Books: []*pb.Book{Book(r.Name + "/books/1"), Book(r.Name + "/books/2")}}, nil
}

func (l *library) StreamBooks(r *pb.StreamBooksRequest, stream grpc.ServerStreamingServer[pb.Book]) error {
	ctx := stream.Context()
	l.s.record(ctx)
	for i := range int(r.Count) {
		if r.FailAfter != nil && int(*r.FailAfter) == i {
			return streamError(i)
		}
		if r.Gate {
			select {
			case <-l.s.gate:
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		if err := stream.Send(Book(fmt.Sprintf("%s/books/%d", r.Parent, i+1))); err != nil {
			return err
		}
	}
	if r.FailAfter != nil && int(*r.FailAfter) >= int(r.Count) {
		return streamError(int(r.Count))
	}
	return nil
}

// streamError is StreamBooks' failure after sent messages.
func streamError(sent int) error {
	st, _ := status.New(codes.Aborted, fmt.Sprintf("stream aborted after %d books", sent)).WithDetails(&errdetails.ErrorInfo{
		Reason: "STREAM_ABORTED", Domain: "library.example", Metadata: map[string]string{"sent": fmt.Sprint(sent)},
	})
	return st.Err()
}

func (l *library) UploadBooks(stream grpc.ClientStreamingServer[pb.Book, pb.UploadBooksResponse]) error {
	l.s.record(stream.Context())
	resp := &pb.UploadBooksResponse{}
	for {
		b, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		resp.Count++
		resp.Names = append(resp.Names, b.Name)
	}
}

func (l *library) Chat(stream grpc.BidiStreamingServer[pb.Book, pb.Book]) error {
	l.s.record(stream.Context())
	for {
		b, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b.Title = "echo:" + b.Title
		if err := stream.Send(b); err != nil {
			return err
		}
	}
}

func (l *library) Describe(ctx context.Context, r *pb.Extras) (*pb.Extras, error) {
	l.s.record(ctx)
	return r, nil
}
