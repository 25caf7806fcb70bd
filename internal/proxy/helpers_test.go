package proxy

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func TestMain(m *testing.M) {
	// A broken proxy must fail a test, not hang the run: http.Get and
	// friends give up after this long.
	http.DefaultClient.Timeout = 15 * time.Second
	os.Exit(m.Run())
}

// newPool returns a round-robin pool over the given target URLs.
func newPool(t testing.TB, urls ...string) *balancer.Pool {
	t.Helper()
	ts := make([]*balancer.Target, len(urls))
	for i, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		ts[i] = balancer.NewTarget(&url.URL{Scheme: u.Scheme, Host: u.Host}, 1)
	}
	p := balancer.NewPool("test")
	if _, err := p.Update("round_robin", ts); err != nil {
		t.Fatal(err)
	}
	return p
}

// upstream starts an HTTP/1.1 test server running h.
func upstream(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// testTransport is the transport the tests use unless they need another.
func testTransport(t testing.TB) http.RoundTripper {
	rt := NewTransport(TransportConfig{ConnectTimeout: 2 * time.Second, MaxIdlePerTarget: 16})
	t.Cleanup(rt.(IdleCloser).CloseIdleConnections)
	return rt
}

// withInfo puts the Info that info returns into each request's context,
// standing in for the gateway's listener.
func withInfo(h http.Handler, info func(r *http.Request) *reqinfo.Info) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := info(r); i != nil {
			r = r.WithContext(reqinfo.NewContext(r.Context(), i))
		}
		h.ServeHTTP(w, r)
	})
}

// front starts the proxy built from o behind a real HTTP/1.1 server.
func front(t testing.TB, o Options) *httptest.Server {
	t.Helper()
	if o.Transport == nil {
		o.Transport = testTransport(t)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := httptest.NewServer(New(o))
	t.Cleanup(s.Close)
	return s
}

// raw sends the literal request text to addr and reads one response; the
// connection is returned for tests that look further.
func raw(t testing.TB, addr, req string) (*http.Response, *bufio.Reader, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	return res, br, c
}

func hostOf(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// counter counts calls to OnUpstreamError per target.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) hook(target string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[target]++
}

func (c *counter) get(target string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[target]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// logRecords is a slog.Handler that keeps the records it gets.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

func (l *logRecords) attrs() []map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, r := range l.recs {
		m := map[string]string{"msg": r.Message, "level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool {
			m[a.Key] = a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}
