package h1server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait: tests wait for events, never for a fixed
// time.
const waitTimeout = 10 * time.Second

type testServer struct {
	*Server
	addr   string
	served chan error
	logs   *logBuffer

	mu     sync.Mutex
	states []http.ConnState
	news   int
}

type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sb.String()
}

// startServer serves h on a loopback port until the test ends, then closes
// the server and waits for every connection goroutine to finish.
func startServer(t testing.TB, h http.Handler, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{addr: ln.Addr().String(), served: make(chan error, 1), logs: &logBuffer{}}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	user := cfg.ConnState
	cfg.ConnState = func(c net.Conn, st http.ConnState) {
		ts.mu.Lock()
		ts.states = append(ts.states, st)
		if st == http.StateNew {
			ts.news++
		}
		ts.mu.Unlock()
		if user != nil {
			user(c, st)
		}
	}
	ts.Server = New(h, cfg)
	go func() { ts.served <- ts.Serve(ln) }()
	t.Cleanup(func() {
		ts.Close()
		select {
		case err := <-ts.served:
			if !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Serve did not return")
		}
		ts.waitNoConns(t)
	})
	return ts
}

func (ts *testServer) waitNoConns(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ts.Server.mu.Lock()
		n := len(ts.Server.conns)
		ts.Server.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d connections still open", n)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (ts *testServer) newConns() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.news
}

func (ts *testServer) url() string { return "http://" + ts.addr }

// client returns an http.Client whose idle connections are closed when the
// test ends.
func (ts *testServer) client(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitTimeout}
}

// rawConn is a client connection for hand-written requests.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func (ts *testServer) dial(t testing.TB) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", ts.addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(waitTimeout))
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.nc, s); err != nil {
		rc.t.Fatal(err)
	}
}

// response reads one response to a request with the given method.
func (rc *rawConn) response(method string) *http.Response {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("reading response: %v", err)
	}
	return resp
}

// body reads resp's whole body.
func (rc *rawConn) body(resp *http.Response) string {
	rc.t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	return string(b)
}

// expectClosed asserts the server closed the connection (EOF or reset, no
// more bytes).
func (rc *rawConn) expectClosed() {
	rc.t.Helper()
	rest, err := io.ReadAll(rc.br)
	if len(rest) > 0 {
		rc.t.Fatalf("unexpected bytes before close: %q", rest)
	}
	if err != nil && !isReset(err) {
		rc.t.Fatalf("waiting for close: %v", err)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "Hello, World!")
}

func ctxWait(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
