package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// wait is generous: the machine is shared and -race is slow.
const wait = 15 * time.Second

// harness runs a Resolver against a dnsServer and records what it does.
type harness struct {
	t       *testing.T
	dns     *dnsServer
	r       *Resolver
	changes chan []Endpoint
	rounds  chan struct{}
	logs    *logRecorder
}

func newHarness(t *testing.T, specs ...Spec) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		dns:     newDNSServer(t),
		changes: make(chan []Endpoint, 1000),
		rounds:  make(chan struct{}, 1000),
		logs:    &logRecorder{},
	}
	h.r = New(specs, 20*time.Millisecond, h.dns.resolver(),
		func(eps []Endpoint) { h.changes <- eps }, slog.New(h.logs))
	h.r.afterRound = func() {
		select {
		case h.rounds <- struct{}{}:
		default:
		}
	}
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.r.Start(context.Background()); err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	h.t.Cleanup(h.r.Stop)
}

// settle waits for n rounds that began after the call, so that whatever
// the test changed before it has been seen by at least one full round.
// (A round may be in flight at the call; its signal is the first one.)
func (h *harness) settle(n int) {
	h.t.Helper()
	for {
		select {
		case <-h.rounds:
			continue
		default:
		}
		break
	}
	for i := 0; i < n+1; i++ {
		select {
		case <-h.rounds:
		case <-time.After(wait):
			h.t.Fatalf("timed out waiting for resolve round %d of %d", i+1, n+1)
		}
	}
}

// nextChange waits for the next OnChange call.
func (h *harness) nextChange() []Endpoint {
	h.t.Helper()
	select {
	case eps := <-h.changes:
		return eps
	case <-time.After(wait):
		h.t.Fatal("timed out waiting for OnChange")
		return nil
	}
}

func (h *harness) noChange() {
	h.t.Helper()
	select {
	case eps := <-h.changes:
		h.t.Fatalf("unexpected OnChange: %s", format(eps))
	default:
	}
}

// format renders endpoints as "url*weight ..." for compact assertions.
func format(eps []Endpoint) string {
	parts := make([]string, len(eps))
	for i, e := range eps {
		parts[i] = fmt.Sprintf("%s*%d", e.URL, e.Weight)
	}
	return strings.Join(parts, " ")
}

func expect(t *testing.T, what string, got []Endpoint, want string) {
	t.Helper()
	if g := format(got); g != want {
		t.Fatalf("%s:\n got  %s\n want %s", what, g, want)
	}
}

type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) count(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level {
			n++
		}
	}
	return n
}

func TestARecordsBecomeSortedDedupedEndpoints(t *testing.T) {
	h := newHarness(t, Spec{Scheme: "http", Host: "api.test", Port: 8080, Weight: 3, Family: "ip4"})
	// Out of order and with a duplicate: the list must come out sorted by
	// address (10.0.0.9 before 10.0.0.10) with each address once.
	h.dns.setIPs("api.test", "10.0.0.10", "10.0.0.9", "10.0.0.10", "2001:db8::1")
	h.start()
	want := "http://10.0.0.9:8080*3 http://10.0.0.10:8080*3"
	expect(t, "first OnChange (inside Start)", h.nextChange(), want)
	expect(t, "Endpoints", h.r.Endpoints(), want)
}

func TestAnswerChangesCallOnChangeOnlyWhenTheListDiffers(t *testing.T) {
	h := newHarness(t, Spec{Scheme: "http", Host: "api.test.", Port: 80, Weight: 1, Family: "ip4"})
	h.dns.setIPs("api.test", "10.0.0.1", "10.0.0.2")
	h.start()
	expect(t, "initial", h.nextChange(), "http://10.0.0.1:80*1 http://10.0.0.2:80*1")

	h.settle(2)
	h.noChange()

	// The same set in another order is not a change.
	h.dns.setIPs("api.test", "10.0.0.2", "10.0.0.1")
	h.settle(2)
	h.noChange()

	h.dns.setIPs("api.test", "10.0.0.2", "10.0.0.1", "10.0.0.3")
	expect(t, "after adding", h.nextChange(), "http://10.0.0.1:80*1 http://10.0.0.2:80*1 http://10.0.0.3:80*1")

	h.dns.setIPs("api.test", "10.0.0.3", "10.0.0.1")
	expect(t, "after removing", h.nextChange(), "http://10.0.0.1:80*1 http://10.0.0.3:80*1")
	expect(t, "Endpoints", h.r.Endpoints(), "http://10.0.0.1:80*1 http://10.0.0.3:80*1")
	h.settle(2)
	h.noChange()
}

// A DNS failure of any kind keeps the last good list, logs once per streak
// and recovers when DNS does.
func TestFailuresKeepLastGoodEndpoints(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode failMode
	}{
		{"servfail", servfail},
		{"timeout", drop},
		{"empty answer", empty},
		{"nxdomain", answer}, // with the records removed below
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Spec{Scheme: "http", Host: "api.test", Port: 80, Weight: 1, Family: "ip4"})
			// The drop case waits this long per round. Only that case
			// gets a short timeout: a lookup that succeeds must not time
			// out on a loaded machine, or it would start a failure streak
			// (and a warning) of its own.
			if tc.mode == drop {
				h.r.lookupTimeout = 300 * time.Millisecond
			}
			h.dns.setIPs("api.test", "10.0.0.1", "10.0.0.2")
			h.start()
			good := "http://10.0.0.1:80*1 http://10.0.0.2:80*1"
			expect(t, "initial", h.nextChange(), good)

			if tc.mode == answer {
				h.dns.setIPs("api.test")
			}
			h.dns.setMode("api.test", tc.mode)
			h.settle(3)
			h.noChange()
			expect(t, "Endpoints during the outage", h.r.Endpoints(), good)
			if n := h.logs.count(slog.LevelWarn); n != 1 {
				t.Fatalf("%d warnings during one failure streak, want exactly 1", n)
			}

			h.dns.setMode("api.test", answer)
			h.dns.setIPs("api.test", "10.0.0.3")
			expect(t, "after recovery", h.nextChange(), "http://10.0.0.3:80*1")
			if n := h.logs.count(slog.LevelInfo); n != 1 {
				t.Fatalf("%d info lines after recovery, want 1", n)
			}
		})
	}
}

// One failing spec keeps its own last good endpoints while another spec's
// changes still go through.
func TestOneFailingSpecDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t,
		Spec{Scheme: "http", Host: "a.test", Port: 80, Weight: 1, Family: "ip4"},
		Spec{Scheme: "http", Host: "b.test", Port: 81, Weight: 2, Family: "ip4"},
	)
	h.dns.setIPs("a.test", "10.0.0.1")
	h.dns.setIPs("b.test", "10.0.0.2")
	h.start()
	expect(t, "initial", h.nextChange(), "http://10.0.0.1:80*1 http://10.0.0.2:81*2")

	h.dns.setMode("a.test", servfail)
	h.dns.setIPs("b.test", "10.0.0.3")
	expect(t, "b changed, a kept", h.nextChange(), "http://10.0.0.1:80*1 http://10.0.0.3:81*2")
}

func TestAAAARecords(t *testing.T) {
	h := newHarness(t,
		Spec{Scheme: "https", Host: "v6.test", Port: 443, Weight: 1, Family: "ip6"},
		Spec{Scheme: "http", Host: "dual.test", Port: 80, Weight: 2}, // family "ip": both
	)
	h.dns.setIPs("v6.test", "2001:db8::2", "10.9.9.9", "2001:db8::1")
	h.dns.setIPs("dual.test", "2001:db8::10", "10.0.0.1", "::ffff:10.0.0.1") // the mapped form is the same address
	h.start()
	expect(t, "initial", h.nextChange(),
		"http://10.0.0.1:80*2 https://[2001:db8::1]:443*1 https://[2001:db8::2]:443*1 http://[2001:db8::10]:80*2")

	h.dns.setIPs("v6.test", "2001:db8::1")
	expect(t, "after removing", h.nextChange(),
		"http://10.0.0.1:80*2 https://[2001:db8::1]:443*1 http://[2001:db8::10]:80*2")
}

func TestSRVUsesLowestPriorityGroupWithRecordWeights(t *testing.T) {
	h := newHarness(t, Spec{Scheme: "http", Host: "_http._tcp.api.test", SRV: true, Family: "ip4"})
	h.dns.setSRV("_http._tcp.api.test",
		srvRecord{priority: 20, weight: 50, port: 9000, target: "backup.test."},
		srvRecord{priority: 10, weight: 5, port: 8001, target: "a.test."},
		srvRecord{priority: 10, weight: 0, port: 8002, target: "b.test."},
		srvRecord{priority: 10, weight: 7, port: 8003, target: "gone.test."}, // no address: skipped
	)
	h.dns.setIPs("a.test", "10.0.0.1", "10.0.0.2")
	h.dns.setIPs("b.test", "10.0.0.1")
	h.dns.setIPs("backup.test", "10.0.9.9")
	h.start()
	expect(t, "priority 10 only, weight 0 → 1", h.nextChange(),
		"http://10.0.0.1:8001*5 http://10.0.0.1:8002*1 http://10.0.0.2:8001*5")

	// A failing target of the preferred group must not shift traffic to
	// the backup group: the spec keeps its last good list.
	h.dns.setMode("a.test", servfail)
	h.settle(2)
	h.noChange()

	// Once the preferred group has no address at all, the next one serves.
	h.dns.setMode("a.test", answer)
	h.dns.setIPs("a.test")
	h.dns.setIPs("b.test")
	expect(t, "fallback to priority 20", h.nextChange(), "http://10.0.9.9:9000*50")
}

func TestIPLiteralIsStatic(t *testing.T) {
	dials := 0
	var mu sync.Mutex
	res := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		return nil, errors.New("no DNS in this test")
	}}
	var got []Endpoint
	r := New([]Spec{
		{Scheme: "http", Host: "10.1.2.3", Port: 80, Weight: 1},
		{Scheme: "https", Host: "[2001:db8::7]", Port: 443, Weight: 2, Family: "ip6"},
	}, 20*time.Millisecond, res, func(eps []Endpoint) { got = eps }, nil)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	expect(t, "OnChange", got, "http://10.1.2.3:80*1 https://[2001:db8::7]:443*2")
	if r.done != nil {
		t.Fatal("a resolver of IP literals only started a background loop")
	}
	mu.Lock()
	defer mu.Unlock()
	if dials != 0 {
		t.Fatalf("%d DNS dials for IP literals", dials)
	}
}

func TestStartFailsOnlyWhenEverySpecFails(t *testing.T) {
	h := newHarness(t,
		Spec{Scheme: "http", Host: "down.test", Port: 80, Weight: 1, Family: "ip4"},
		Spec{Scheme: "http", Host: "missing.test", Port: 80, Weight: 1, Family: "ip4"},
	)
	h.dns.setIPs("down.test", "10.0.0.1")
	h.dns.setMode("down.test", servfail)
	err := h.r.Start(context.Background())
	if err == nil {
		h.r.Stop()
		t.Fatal("Start succeeded although every spec failed")
	}
	for _, want := range []string{"down.test", "missing.test"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if h.r.done != nil {
		t.Fatal("failed Start left a background loop")
	}
	h.noChange()

	// One good spec is enough; the failing one is retried in the loop.
	h2 := newHarness(t,
		Spec{Scheme: "http", Host: "ok.test", Port: 80, Weight: 1, Family: "ip4"},
		Spec{Scheme: "http", Host: "missing.test", Port: 80, Weight: 1, Family: "ip4"},
	)
	h2.dns.setIPs("ok.test", "10.0.0.5")
	h2.start()
	expect(t, "partial start", h2.nextChange(), "http://10.0.0.5:80*1")
	h2.dns.setIPs("missing.test", "10.0.0.4")
	expect(t, "late spec joins", h2.nextChange(), "http://10.0.0.4:80*1 http://10.0.0.5:80*1")
}

func TestStartRejectsInvalidSpecs(t *testing.T) {
	for _, s := range []Spec{
		{Scheme: "ftp", Host: "a.test", Port: 80},
		{Scheme: "http", Host: "", Port: 80},
		{Scheme: "http", Host: "a.test", Port: 0},
		{Scheme: "http", Host: "a.test", Port: 70000},
		{Scheme: "http", Host: "a.test", Port: 80, Weight: -1},
		{Scheme: "http", Host: "a.test", Port: 80, Family: "ip5"},
		{Scheme: "http", Host: "10.0.0.1", Port: 80, Family: "ip6"},
		{Scheme: "http", Host: "10.0.0.1", SRV: true},
	} {
		r := New([]Spec{s}, time.Second, nil, nil, nil)
		if err := r.Start(context.Background()); err == nil {
			r.Stop()
			t.Errorf("Start accepted %+v", s)
		}
	}
}

func TestStopEndsTheGoroutine(t *testing.T) {
	h := newHarness(t, Spec{Scheme: "http", Host: "api.test", Port: 80, Weight: 1, Family: "ip4"})
	h.r.lookupTimeout = time.Minute // Stop must abort a lookup in flight
	h.dns.setIPs("api.test", "10.0.0.1")
	before := goleak.IgnoreCurrent()
	if err := h.r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.settle(1)
	// The next lookup hangs until Stop cancels it.
	h.dns.setMode("api.test", drop)
	n := h.dns.queryCount()
	deadline := time.Now().Add(wait)
	for h.dns.queryCount() == n {
		if time.Now().After(deadline) {
			t.Fatal("no query after the server started dropping")
		}
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan struct{})
	go func() { h.r.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("Stop did not return while a lookup hung")
	}
	h.r.Stop() // idempotent
	goleak.VerifyNone(t, before)
}

func TestContextCancelEndsTheGoroutine(t *testing.T) {
	h := newHarness(t, Spec{Scheme: "http", Host: "api.test", Port: 80, Weight: 1, Family: "ip4"})
	h.dns.setIPs("api.test", "10.0.0.1")
	before := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-h.r.done:
	case <-time.After(wait):
		t.Fatal("loop still running after its context ended")
	}
	goleak.VerifyNone(t, before)
	h.r.Stop()
}

func TestJitterStaysWithinTenPercent(t *testing.T) {
	d := time.Second
	lo := jitter(d, func(int64) int64 { return 0 })
	hi := jitter(d, func(n int64) int64 { return n - 1 })
	if lo != 900*time.Millisecond || hi != 1100*time.Millisecond {
		t.Fatalf("jitter range [%v, %v], want [900ms, 1.1s]", lo, hi)
	}
	for range 1000 {
		if j := (&Resolver{interval: d}).nextDelay(); j < 900*time.Millisecond || j > 1100*time.Millisecond {
			t.Fatalf("delay %v outside ±10%%", j)
		}
	}
}
