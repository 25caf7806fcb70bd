// Package e2e holds black-box tests that build the real gatehouse binary,
// run it with configurations written to t.TempDir(), and talk to it over
// real loopback sockets, with real backends running in the test process.
// Nothing is mocked and nothing leaves 127.0.0.1.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Binaries built once by TestMain.
var (
	// gatehouseBin is the gateway under test. It is built with -race exactly
	// when this test binary is: `go test -race ./test/e2e/` then also checks
	// the gateway for data races under real traffic (a report on its stderr
	// fails the test, see gw.checkRaces), which is the point of running
	// end-to-end tests under -race at all. A race build costs ~20-40 s once
	// on 2 cores (then the build cache serves it), which is acceptable.
	gatehouseBin string
	// moduleRoot is the repository root (../.. from this package).
	moduleRoot string
	binDir     string

	// plainBin is a build without -race, made lazily for measurements the
	// race runtime distorts (peak RSS: its shadow memory is several times
	// the Go heap). Without -race it is gatehouseBin itself.
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(moduleRoot, "go.mod")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cannot find the module root from", wd, ":", err)
		return 1
	}
	binDir, err = os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(binDir)
	gatehouseBin = filepath.Join(binDir, "gatehouse")
	if err := buildGateway(gatehouseBin, raceEnabled); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building the gateway failed:\n", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		// Every backend, client and gateway watcher a test started must be
		// gone: a leak here means a test does not clean up after itself.
		// Goroutines of closed connections end asynchronously; on a
		// loaded machine that can take longer than goleak's own retries
		// (about a second), so poll, bounded.
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		var err error
		waitFor(10*time.Second, func() bool { err = goleak.Find(); return err == nil })
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: leaked goroutines after the tests:", err)
			return 1
		}
	}
	return code
}

func buildGateway(out string, race bool) error {
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/gatehouse")
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// plainGateway returns a gateway binary built without -race.
func plainGateway(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return gatehouseBin
	}
	plainOnce.Do(func() {
		plainPath = filepath.Join(binDir, "gatehouse-norace")
		plainErr = buildGateway(plainPath, false)
	})
	if plainErr != nil {
		t.Fatalf("building the non-race gateway: %v", plainErr)
	}
	return plainPath
}

// ---------------------------------------------------------------------------
// Ports

// freePort returns a loopback port that was free a moment ago; the
// gateway (or a backend) binds it right after. Two races are closed:
//
//   - A port from ":0" lies in the kernel's ephemeral range, where any
//     outgoing connection (a load test's client, the gateway's upstream
//     pool, another process on the machine) may take it as its local port
//     between our close and the gateway's bind, or while a backend is
//     down and about to come back on the same address. The port is
//     therefore drawn below that range, where only listeners bind.
//   - Linux may hand a just-closed port to the next ":0" listen, so two
//     parallel tests could be given the same one. Every port is handed
//     out at most once per test binary.
func freePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	portsMu.Lock()
	defer portsMu.Unlock()
	var lastErr error
	for range 200 {
		port := 10000 + rand.IntN(low-10000)
		if portsGiven[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			lastErr = err
			continue
		}
		ln.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatalf("free port: none found below %d: %v", low, lastErr)
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow is the start of the kernel's ephemeral port range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11024 {
				low = n
			}
		}
	}
	return low
}

// freeAddr is freePort as "127.0.0.1:PORT".
func freeAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

// ---------------------------------------------------------------------------
// Output capture

// syncBuffer is a bytes.Buffer safe for one writer (the exec pipe copier)
// and many readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---------------------------------------------------------------------------
// The gateway process

// gw is one running gatehouse process.
type gw struct {
	t       *testing.T
	cfgPath string
	admin   string // admin host:port
	cmd     *exec.Cmd
	stdout  *syncBuffer // access log (JSON lines)
	stderr  *syncBuffer // process log (JSON lines) and any race report
	done    chan struct{}
	exit    int // valid after done is closed
}

// adminTail is appended to every test configuration so the harness knows
// the admin address without parsing YAML.
func adminTail(admin string) string {
	return "\nadmin:\n  address: " + admin + "\n"
}

// startGateway writes yaml (plus an admin section on a free port) to a file
// in t.TempDir(), runs `gatehouse run -c FILE`, and returns once the admin
// /readyz answers 200. Cleanup stops the process.
func startGateway(t *testing.T, yaml string) *gw {
	t.Helper()
	admin := freeAddr(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(yaml+adminTail(admin)), 0o644); err != nil {
		t.Fatal(err)
	}
	return startGatewayFile(t, gatehouseBin, path, admin)
}

// startGatewayFile runs bin on an existing configuration file whose admin
// listener is at admin.
func startGatewayFile(t *testing.T, bin, path, admin string) *gw {
	t.Helper()
	g := &gw{t: t, cfgPath: path, admin: admin, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(bin, "run", "-c", path)
	g.cmd.Stdout = g.stdout
	g.cmd.Stderr = g.stderr
	// If the test binary dies (panic, timeout), the kernel kills the
	// gateway too, so no port stays bound.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("start gatehouse: %v", err)
	}
	go func() {
		g.cmd.Wait()
		g.exit = g.cmd.ProcessState.ExitCode() // -1 when killed by a signal
		close(g.done)
	}()
	t.Cleanup(g.cleanup)
	if err := g.waitReady(15 * time.Second); err != nil {
		t.Fatalf("gateway not ready: %v\nstderr:\n%s", err, g.stderr.String())
	}
	return g
}

// waitReady polls GET /readyz with a short backoff until 200, the process
// exits, or the deadline passes.
func (g *gw) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	backoff := 5 * time.Millisecond
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			return fmt.Errorf("gatehouse exited with code %d before becoming ready", g.exit)
		default:
		}
		resp, err := c.Get("http://" + g.admin + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("/readyz: %s", resp.Status)
		} else {
			last = err
		}
		time.Sleep(backoff)
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
	return fmt.Errorf("timeout after %v: %v", timeout, last)
}

func (g *gw) pid() int { return g.cmd.Process.Pid }

// signal sends sig to the gateway.
func (g *gw) signal(sig os.Signal) {
	g.t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		g.t.Fatalf("signal %v: %v", sig, err)
	}
}

// reload sends SIGHUP.
func (g *gw) reload() { g.signal(syscall.SIGHUP) }

// rewrite replaces the configuration file (plus the same admin section)
// atomically, by rename, so the file watcher never reads half a file.
func (g *gw) rewrite(yaml string) {
	g.t.Helper()
	tmp := g.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml+adminTail(g.admin)), 0o644); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Rename(tmp, g.cfgPath); err != nil {
		g.t.Fatal(err)
	}
}

// logs is everything the process wrote to stderr so far.
func (g *gw) logs() string { return g.stderr.String() }

// accessLog is everything written to stdout so far.
func (g *gw) accessLog() string { return g.stdout.String() }

// waitLog waits until substr appears in the process log (stderr) and
// reports whether it did.
func (g *gw) waitLog(substr string, timeout time.Duration) bool {
	return waitFor(timeout, func() bool { return strings.Contains(g.stderr.String(), substr) })
}

// countLog counts occurrences of substr in the process log.
func (g *gw) countLog(substr string) int { return strings.Count(g.stderr.String(), substr) }

// stop sends SIGTERM and returns the exit code (killing after 20 s).
func (g *gw) stop() int {
	g.t.Helper()
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(20 * time.Second):
		g.t.Errorf("gatehouse did not exit 20s after SIGTERM; killing it\nstderr:\n%s", tail(g.stderr.String(), 4000))
		g.cmd.Process.Kill()
		<-g.done
	}
	return g.exit
}

// waitExit waits for the process to exit by itself.
func (g *gw) waitExit(timeout time.Duration) (int, bool) {
	select {
	case <-g.done:
		return g.exit, true
	case <-time.After(timeout):
		return 0, false
	}
}

func (g *gw) cleanup() {
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 3*time.Second {
			g.t.Logf("stopping the gateway took %v", d.Round(time.Millisecond))
		}
	}()
	select {
	case <-g.done:
	default:
		g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			g.cmd.Process.Kill()
			<-g.done
		}
	}
	g.checkRaces()
	if g.t.Failed() {
		g.t.Logf("gateway process log (stderr, last 6000 bytes):\n%s", tail(g.stderr.String(), 6000))
	}
}

// checkRaces fails the test when the race-built gateway reported a data race.
func (g *gw) checkRaces() {
	s := g.stderr.String()
	if i := strings.Index(s, "WARNING: DATA RACE"); i >= 0 {
		g.t.Errorf("the gateway reported a data race:\n%s", tail(s[i:], 8000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// waitFor polls cond with a short backoff until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	backoff := 2 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(backoff)
		if backoff < 50*time.Millisecond {
			backoff *= 2
		}
	}
}

// clearOfBoundary returns once the wall clock is at least margin away from
// the next multiple of period since the Unix epoch (for period 24h: 00:00
// UTC), waiting past the boundary if it is nearer. Limits counted in
// calendar or epoch-aligned windows (a daily quota, a sliding rate-limit
// window) reset or re-admit there; a test whose requests must all fall in
// one window calls this first, with margin longer than the test's
// requests take, instead of hoping not to straddle a boundary. The wait
// is for the clock (there is no event), at most margin.
func clearOfBoundary(period, margin time.Duration) {
	now := time.Now()
	next := now.Truncate(period).Add(period) // Truncate is relative to the zero time, aligned for periods dividing a day
	if next.Sub(now) < margin {
		time.Sleep(time.Until(next.Add(time.Second)))
	}
}

// metrics fetches the admin /metrics text.
func (g *gw) metrics() string {
	g.t.Helper()
	resp, err := http.Get("http://" + g.admin + "/metrics")
	if err != nil {
		g.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		g.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	return string(b)
}

// metricValue returns the value of the sample whose name and labels are
// exactly as given (labels in Prometheus' sorted order), and whether found.
func metricValue(text, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[len(series):]), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// waitMetric polls g's /metrics until series is present with a value of
// at least want, and returns that text. The gateway counts a request after
// its handler returns, which can be after the client has the whole
// response, so a read right after the last response may come too early.
// Callers then assert the exact value on the returned text: counters only
// grow, so a count above want still fails, and one that never reaches it
// fails after timeout.
func (g *gw) waitMetric(series string, want float64, timeout time.Duration) string {
	g.t.Helper()
	var m string
	waitFor(timeout, func() bool {
		m = g.metrics()
		v, ok := metricValue(m, series)
		return ok && v >= want
	})
	return m
}

// ---------------------------------------------------------------------------
// Clients

// httpClient is a client that never follows redirects and owns its
// connections (closed at cleanup).
func httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get does a GET with an optional Host header and returns the response
// with its body read.
func get(t *testing.T, c *http.Client, url, host string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return do(t, c, "GET", url, host, hdr...)
}

func do(t *testing.T, c *http.Client, method, url, host string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %q): %v", method, url, host, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, string(b)
}

// rawExchange writes raw bytes to addr and reads one HTTP response. The
// request is sent exactly as written: Go's client would clean or re-encode
// paths and headers, which is what these tests must not let happen.
func rawExchange(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the response to %q: %v", firstLine(raw), err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body of the response to %q: %v", firstLine(raw), err)
	}
	return resp, string(b)
}

func firstLine(s string) string {
	if i := strings.Index(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// dialRefused reports whether a new TCP connection to addr is refused.
func dialRefused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	c.Close()
	return false
}

// portFree reports whether addr can be bound right now.
func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// ctxT returns a context bounded by d and cancelled at cleanup.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
