package e2e

import (
	"bufio"
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
	"sync/atomic"
	"testing"
	"time"
)

// Origins that close idle keep-alive connections after 1 s, as app servers
// do (Node.js 5 s, gunicorn 2 s, uvicorn 5 s), far sooner than the
// gateway's idle_timeout. The gateway must never fail a request because of
// such a close: the pooled connection is discarded when found closed, and
// a close racing with its reuse is retried on a fresh connection.

// idleOrigin is a Go server with IdleTimeout 1 s answering "METHOD n" (n:
// body bytes received). open counts its connections not yet closed.
type idleOrigin struct {
	url  string
	open atomic.Int64
}

func newIdleOrigin(t *testing.T) *idleOrigin {
	t.Helper()
	o := &idleOrigin{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		IdleTimeout: time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%s %d", r.Method, n)
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				o.open.Add(1)
			case http.StateClosed, http.StateHijacked:
				o.open.Add(-1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	o.url = "http://" + ln.Addr().String()
	return o
}

func staleConfig(addr, connectTimeout string, targets ...string) string {
	return fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: app
    connect_timeout: %s
    targets:
      - {url: %s}
routes:
  - name: all
    backend: {upstream: app}
`, addr, connectTimeout, strings.Join(targets, "}\n      - {url: "))
}

// idleCrossingLoad sends total requests (POST, PUT and GET in turn, the
// first two with a body) from workers concurrent clients. Each client
// pauses 1.0–1.3 s after every burst, so pooled upstream connections
// keep crossing the origins' 1 s idle timeout. midway, if set, runs once
// half the bursts are done. It returns the failures (transport errors and
// statuses other than 200), with a sample of each kind.
func idleCrossingLoad(t *testing.T, addr string, workers, total int, midway func()) (failures int64, samples []string) {
	t.Helper()
	const bursts = 5
	perBurst := total / workers / bursts
	tr := &http.Transport{MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var (
		failed  atomic.Int64
		mu      sync.Mutex
		seen    = map[string]bool{}
		burstWG sync.WaitGroup
		half    sync.Once
	)
	note := func(kind string) {
		failed.Add(1)
		mu.Lock()
		if !seen[kind] && len(seen) < 5 {
			seen[kind] = true
			samples = append(samples, kind)
		}
		mu.Unlock()
	}
	methods := [...]string{"POST", "PUT", "GET"}
	var wg sync.WaitGroup
	burstWG.Add(workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range bursts {
				for i := range perBurst {
					m := methods[(w+i+b)%len(methods)]
					var body io.Reader
					want := m + " 0"
					if m != "GET" {
						payload := strings.Repeat("x", 1+rand.IntN(2000))
						body, want = strings.NewReader(payload), fmt.Sprintf("%s %d", m, len(payload))
					}
					req, _ := http.NewRequest(m, "http://"+addr+"/stale", body)
					resp, err := client.Do(req)
					if err != nil {
						note("error: " + err.Error())
						continue
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(got) != want {
						note(fmt.Sprintf("%d %q (want %q)", resp.StatusCode, got, want))
					}
				}
				if b == bursts/2 {
					burstWG.Done()
					if midway != nil {
						half.Do(func() { burstWG.Wait(); midway() })
					}
				}
				time.Sleep(time.Second + rand.N(300*time.Millisecond)) // load shape, not synchronisation
			}
		}()
	}
	wg.Wait()
	return failed.Load(), samples
}

// staleEvents is how many stale pooled connections the gateway discarded
// plus how many requests it retried on a fresh connection.
func staleEvents(g *gw) float64 {
	m := g.metrics()
	a, _ := metricValue(m, `gatehouse_upstream_stale_connections_total{upstream="app"}`)
	b, _ := metricValue(m, `gatehouse_upstream_stale_retries_total{upstream="app"}`)
	return a + b
}

// afterAllClosed waits until every origin connection is closed (so every
// connection the gateway pooled is stale), then sends a PUT with a body:
// the Node.js report of issue 9, made deterministic. wantStale: the
// gateway must have found a stale connection (not so with an origin that
// advertises its timeout, whose connections expire before it closes them).
func afterAllClosed(t *testing.T, g *gw, addr string, wantStale bool, closed func() bool) {
	t.Helper()
	if !waitFor(20*time.Second, closed) {
		t.Fatal("the origin did not close its idle connections")
	}
	before := staleEvents(g)
	c := httpClient(t)
	req, _ := http.NewRequest("PUT", "http://"+addr+"/stale", strings.NewReader("hello"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "PUT 5" {
		t.Fatalf("PUT after the origin closed every idle connection: %d %q", resp.StatusCode, b)
	}
	if after := staleEvents(g); wantStale && after <= before {
		t.Fatalf("stale connection metrics did not move (%v → %v)", before, after)
	}
}

func TestStaleUpstreamConnections(t *testing.T) {
	t.Parallel()
	o := newIdleOrigin(t)
	addr := freeAddr(t)
	g := startGateway(t, staleConfig(addr, "5s", o.url))
	failed, samples := idleCrossingLoad(t, addr, 40, 1000, nil)
	if failed != 0 {
		t.Fatalf("%d of 1000 requests failed: %q", failed, samples)
	}
	afterAllClosed(t, g, addr, true, func() bool { return o.open.Load() == 0 })
}

func TestStaleUpstreamConnectionsTwoTargetsReload(t *testing.T) {
	t.Parallel()
	a, b := newIdleOrigin(t), newIdleOrigin(t)
	addr := freeAddr(t)
	g := startGateway(t, staleConfig(addr, "5s", a.url, b.url))
	reloads := func() float64 {
		v, _ := metricValue(g.metrics(), `gatehouse_config_reloads_total{result="ok"}`)
		return v
	}
	before := reloads()
	failed, samples := idleCrossingLoad(t, addr, 40, 1000, func() {
		// A changed connect_timeout rebuilds the upstream's transport:
		// the old one's pooled connections are dropped while requests
		// are in flight on them.
		g.rewrite(staleConfig(addr, "4s", a.url, b.url))
		g.reload()
		if !waitFor(10*time.Second, func() bool { return reloads() > before }) {
			t.Errorf("reload not applied:\n%s", tail(g.logs(), 2000))
		}
	})
	if failed != 0 {
		t.Fatalf("%d of 1000 requests failed: %q", failed, samples)
	}
	afterAllClosed(t, g, addr, true, func() bool { return a.open.Load() == 0 && b.open.Load() == 0 })
}

// nodeOrigin is the script of a stock Node.js server with its keep-alive
// timeout lowered to 1 s (it sends "Keep-Alive: timeout=1"); GET /conns (asked directly, not through the
// gateway) answers its number of open connections.
const nodeOrigin = `
const http = require('http');
const server = http.createServer((req, res) => {
  if (req.url === '/conns') {
    server.getConnections((err, n) => res.end(String(n)));
    return;
  }
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => res.end(req.method + ' ' + n));
});
server.keepAliveTimeout = 1000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`

func TestStaleUpstreamConnectionsNode(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	script := filepath.Join(t.TempDir(), "origin.js")
	if err := os.WriteFile(script, []byte(nodeOrigin), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("node origin did not start: %v", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("node origin printed %q", line)
	}
	origin := fmt.Sprintf("127.0.0.1:%d", port)
	addr := freeAddr(t)
	g := startGateway(t, staleConfig(addr, "5s", "http://"+origin))
	failed, samples := idleCrossingLoad(t, addr, 40, 1000, nil)
	if failed != 0 {
		t.Fatalf("%d of 1000 requests failed: %q", failed, samples)
	}
	// Node advertises "Keep-Alive: timeout=1": the gateway expires its
	// connections before Node closes them (h1client/keepalive.go).
	afterAllClosed(t, g, addr, false, func() bool {
		// Our own connection for asking is the only one left.
		_, body := rawExchange(t, origin, "GET /conns HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n")
		return body == "1"
	})
}
