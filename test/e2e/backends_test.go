package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// echoReply is what the echo backend answers: what it received.
type echoReply struct {
	Backend    string      `json:"backend"`
	Method     string      `json:"method"`
	Path       string      `json:"path"`        // r.URL.Path (decoded)
	RequestURI string      `json:"request_uri"` // as on the wire
	Host       string      `json:"host"`
	Proto      string      `json:"proto"`
	Header     http.Header `json:"header"`
	BodyBytes  int64       `json:"body_bytes"`
}

// backend is a real HTTP server in the test process. Endpoints:
//
//	/sse         two server-sent events; the second only after sseRelease
//	/ws          WebSocket: a greeting, then echo
//	/upload      sink: counts the body bytes and hashes them
//	/slow?ms=N   answers after N ms; /slow?hold=1 waits for slowRelease
//	/hop         a response carrying hop-by-hop headers
//	anything else: echo what was received as JSON
type backend struct {
	name string
	srv  *httptest.Server
	addr string // host:port
	url  string // http://host:port

	mu   sync.Mutex
	seen []echoReply // every request received, in order

	sseRelease  chan struct{} // closed by the test to let /sse send event 2
	slowStarted chan struct{} // receives once per /slow?hold=1 request
	slowRelease chan struct{} // closed by the test to finish held requests
	// slowCanceled receives once per held request whose context ended
	// (the proxy canceled it) before the release.
	slowCanceled chan struct{}
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	return newBackendOn(t, name, "")
}

// newBackendOn is newBackend listening on addr ("" = a free port), for
// examples whose configuration names fixed ports.
func newBackendOn(t *testing.T, name, addr string) *backend {
	t.Helper()
	b := &backend{name: name, sseRelease: make(chan struct{}), slowStarted: make(chan struct{}, 16), slowRelease: make(chan struct{}), slowCanceled: make(chan struct{}, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("/sse", b.sse)
	mux.HandleFunc("/ws", b.ws)
	mux.HandleFunc("/upload", b.upload)
	mux.HandleFunc("/slow", b.slow)
	mux.HandleFunc("/hop", b.hop)
	mux.HandleFunc("/", b.echo)
	b.srv = httptest.NewUnstartedServer(mux)
	// Keep the server's own view of the wire: no path cleaning redirects.
	b.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Backend", name)
		h, pattern := mux.Handler(r)
		if pattern == "" || pattern == "/" {
			b.echo(w, r) // never let the mux redirect an odd path
			return
		}
		h.ServeHTTP(w, r)
	})
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("backend %s: %v", name, err)
		}
		b.srv.Listener.Close()
		b.srv.Listener = ln
	}
	b.srv.Start()
	b.addr = b.srv.Listener.Addr().String()
	b.url = "http://" + b.addr
	t.Cleanup(func() {
		// Unblock anything the test forgot to release, then close.
		start := time.Now()
		b.releaseAll()
		b.srv.CloseClientConnections()
		b.srv.Close()
		if d := time.Since(start); d > 3*time.Second {
			t.Logf("closing backend %s took %v", name, d.Round(time.Millisecond))
		}
	})
	return b
}

func (b *backend) releaseAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range []chan struct{}{b.sseRelease, b.slowRelease} {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

func (b *backend) record(r *http.Request, n int64) echoReply {
	rep := echoReply{Backend: b.name, Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI,
		Host: r.Host, Proto: r.Proto, Header: r.Header.Clone(), BodyBytes: n}
	b.mu.Lock()
	b.seen = append(b.seen, rep)
	b.mu.Unlock()
	return rep
}

// requests returns a copy of everything received so far.
func (b *backend) requests() []echoReply {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]echoReply(nil), b.seen...)
}

func (b *backend) echo(w http.ResponseWriter, r *http.Request) {
	n, _ := io.Copy(io.Discard, r.Body)
	rep := b.record(r, n)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(rep)
}

func (b *backend) sse(w http.ResponseWriter, r *http.Request) {
	b.record(r, 0)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	fmt.Fprint(w, "id: 1\nevent: tick\ndata: first\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	select {
	case <-b.sseRelease:
	case <-r.Context().Done():
		return
	case <-time.After(20 * time.Second): // bounded even if the test never releases
	}
	fmt.Fprint(w, "id: 2\nevent: tick\ndata: second\n\n")
	rc.Flush()
}

func (b *backend) ws(w http.ResponseWriter, r *http.Request) {
	b.record(r, 0)
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello from "+b.name)); err != nil {
		return
	}
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, append([]byte("echo:"), msg...)); err != nil {
			return
		}
	}
}

// uploadReply is what /upload answers.
type uploadReply struct {
	Bytes            int64  `json:"bytes"`
	SHA256           string `json:"sha256"`
	ContentLength    int64  `json:"content_length"`
	TransferEncoding string `json:"transfer_encoding"`
}

func (b *backend) upload(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	b.record(r, n)
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	te := ""
	if len(r.TransferEncoding) > 0 {
		te = r.TransferEncoding[0]
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(uploadReply{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil)), ContentLength: r.ContentLength, TransferEncoding: te})
}

func (b *backend) slow(w http.ResponseWriter, r *http.Request) {
	b.record(r, 0)
	if r.URL.Query().Get("hold") != "" {
		select {
		case b.slowStarted <- struct{}{}:
		default:
		}
		select {
		case <-b.slowRelease:
		case <-r.Context().Done():
			select {
			case b.slowCanceled <- struct{}{}:
			default:
			}
			return
		case <-time.After(30 * time.Second):
		}
	} else {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "slow done\n")
}

// hop answers with hop-by-hop headers, which a proxy must not forward.
func (b *backend) hop(w http.ResponseWriter, r *http.Request) {
	b.record(r, 0)
	h := w.Header()
	h.Set("Connection", "X-Backend-Hop")
	h.Set("X-Backend-Hop", "1")
	h.Set("Keep-Alive", "timeout=5")
	h.Set("Proxy-Connection", "keep-alive")
	h.Set("X-End-To-End", "kept")
	io.WriteString(w, "hop\n")
}

// grpcBackend is a grpc-go server (plaintext HTTP/2) with the standard
// health service; "" and "gatehouse.test" are SERVING.
type grpcBackend struct {
	addr string
}

func newGRPCBackend(t *testing.T) *grpcBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("gatehouse.test", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, hs)
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return &grpcBackend{addr: ln.Addr().String()}
}

// release closes ch once (safe against releaseAll at cleanup).
func (b *backend) release(ch chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}
