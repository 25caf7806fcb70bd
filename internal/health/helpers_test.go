package health

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitFor polls cond until it holds or a generous deadline passes (the CI
// machine is shared and slow); it never sleeps a fixed time to "let things
// happen".
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// newTarget returns a target for rawURL (scheme://host:port).
func newTarget(t testing.TB, rawURL string) *balancer.Target {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return balancer.NewTarget(&url.URL{Scheme: u.Scheme, Host: u.Host}, 1)
}

// fastCheck is a check config whose loop runs as fast as the test drives
// it, with no jitter, and a timeout long enough for a loaded machine.
func fastCheck(cfg CheckConfig) CheckConfig {
	cfg.Interval = time.Millisecond
	cfg.Timeout = 5 * time.Second
	cfg.Jitter = -1
	return cfg
}

// scripted is an HTTP target whose every check request the test answers by
// hand: next waits for the checker's next request and replies. Because a
// checker's loop is sequential, the arrival of request n+1 proves that
// request n's result has been recorded — which lets tests assert exact
// threshold behaviour without sleeping.
type scripted struct {
	*httptest.Server
	arrived chan *http.Request
	replies chan reply
}

type reply struct {
	status int
	body   string
}

func newScripted(t testing.TB) *scripted {
	s := &scripted{arrived: make(chan *http.Request), replies: make(chan reply)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.arrived <- r:
		case <-r.Context().Done():
			return
		}
		select {
		case rep := <-s.replies:
			w.WriteHeader(rep.status)
			_, _ = w.Write([]byte(rep.body))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// next waits for the next check and answers it with status.
func (s *scripted) next(t testing.TB, status int) *http.Request {
	t.Helper()
	r := s.wait(t)
	s.replies <- reply{status: status}
	return r
}

// wait waits for the next check to arrive without answering it.
func (s *scripted) wait(t testing.TB) *http.Request {
	t.Helper()
	select {
	case r := <-s.arrived:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a health check request")
		return nil
	}
}

// fakeClock is a clock the test advances by hand; due AfterFunc callbacks
// run synchronously inside Advance, in deadline order.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	ft := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, ft)
	return ft
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	i := slices.Index(t.c.timers, t)
	if i < 0 {
		return false
	}
	t.c.timers = slices.Delete(t.c.timers, i, i+1)
	t.stopped = true
	return true
}

// Advance moves time forward by d, firing the timers that fall due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			break
		}
		ft := c.timers[0]
		c.timers = c.timers[1:]
		c.now = ft.at
		c.mu.Unlock()
		ft.f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// logRecorder is a slog handler keeping every record, to assert that
// transitions are logged with their context.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// find returns the attributes of the first record with msg, waiting up
// to 15 s for it: a transition is logged just after the target's state
// changes (under the state's lock, which tests do not take), so a test
// that saw the change may look before the line is written.
func (h *logRecorder) find(msg string) (map[string]string, bool) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		if attrs, ok := h.lookup(msg); ok || time.Now().After(deadline) {
			return attrs, ok
		}
		time.Sleep(time.Millisecond)
	}
}

// lookup returns the attributes of the first record with message msg.
func (h *logRecorder) lookup(msg string) (map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		return attrs, true
	}
	return nil, false
}

// metricValue returns the value of the gauge or counter name with exactly
// labels in reg, and whether it exists.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// testRegistry returns a registry with metrics in a fresh Prometheus
// registry and a recording logger.
func testRegistry(t testing.TB) (*Registry, *prometheus.Registry, *logRecorder) {
	t.Helper()
	preg := prometheus.NewRegistry()
	m, err := NewMetrics(preg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	return NewRegistry("users", slog.New(rec), m), preg, rec
}

// probeOnce runs one check of target by the prober mk builds from cfg
// (defaults applied), bounded by timeout.
func probeOnce(t *testing.T, cfg CheckConfig, target string, timeout time.Duration, mk func(CheckConfig) prober) error {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p := mk(cfg)
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.check(ctx, newTarget(t, target))
}
