package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// composeBackend is a JSON backend started by the test; it records the
// request URIs it was sent.
type composeBackend struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newComposeBackend(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *composeBackend {
	t.Helper()
	b := &composeBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.RequestURI)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		h(w, r)
	}))
	t.Cleanup(func() { b.srv.CloseClientConnections(); b.srv.Close() })
	return b
}

func (b *composeBackend) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.seen)
}

// TestCompose: a composed endpoint over three real backends with a
// dependent step and a for_each fan-out over 20 ids; a failing backend
// (500, and a dead port) under each on_error; route-relative steps and
// the recursion guard; metrics and the access-log field.
func TestCompose(t *testing.T) {
	t.Parallel()
	users := newComposeBackend(t, func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/users/")
		ids := make([]string, 20)
		for i := range ids {
			ids[i] = strconv.Itoa(100 + i)
		}
		fmt.Fprintf(w, `{"data":{"id":%q,"name":"user %s","password":"secret","order_ids":[%s]}}`, id, id, strings.Join(ids, ","))
	})
	profiles := newComposeBackend(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"bio":"bio of %s","tenant":%q,"rid":%q}`, r.URL.Query().Get("u"), r.Header.Get("X-Tenant"), r.Header.Get("X-Request-Id"))
	})
	orders := newComposeBackend(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/orders/"))
		// Later ids answer sooner: completion order is not element order.
		time.Sleep(time.Duration(120-n) * time.Millisecond / 4)
		fmt.Fprintf(w, `{"id":%d,"total":%d,"internal":true}`, n, n*10)
	})
	broken := newComposeBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		fmt.Fprint(w, `{"error":"boom"}`)
	})
	dead := freeAddr(t)
	addr := freeAddr(t)

	var failRoutes strings.Builder
	for _, up := range []string{"broken", "dead"} {
		for _, on := range []string{"fail", "omit", "default"} {
			def := ""
			if on == "default" {
				def = ", default: {status: unknown}"
			}
			fmt.Fprintf(&failRoutes, `  - name: f-%[1]s-%[2]s
    match: {path: {exact: /f/%[1]s/%[2]s}}
    compose:
      steps:
        - {name: user, upstream: users, url: /users/1, target: data, allow: [id]}
        - {name: extra, upstream: %[1]s, url: /x, on_error: %[2]s%[3]s}
`, up, on, def)
		}
	}
	cfg := fmt.Sprintf(`
listeners:
  - {name: web, address: %s}
upstreams:
  - {name: users, targets: [{url: "%s"}]}
  - {name: profiles, targets: [{url: "%s"}]}
  - {name: orders, targets: [{url: "%s"}]}
  - {name: broken, targets: [{url: "%s"}]}
  - {name: dead, targets: [{url: "http://%s"}]}
routes:
  - name: dash
    match: {path: {template: "/dash/{id}"}}
    timeout: 5s
    compose:
      steps:
        - name: user
          upstream: users
          url: /users/${param.id}
          target: data
          deny: [password]
          mapping: {name: full_name}
        - name: profile
          upstream: profiles
          url: /profile?u=${steps.user.id}
          needs: [user]
          headers: {X-Tenant: "${header.x-tenant}"}
          group: about
        - name: orders
          upstream: orders
          needs: [user]
          for_each: steps.user.order_ids
          url: /orders/${item}
          concurrency: 5
          allow: [id, total]
%s  - name: inner
    match: {path: {prefix: /inner}}
    respond: {status: 200, headers: {Content-Type: application/json}, body: '{"inner":true}'}
  - name: outer
    match: {path: {exact: /outer}}
    compose:
      steps:
        - {name: in, path: /inner/x}
  - name: profiles-direct
    match: {path: {prefix: /profile}}
    backend: {upstream: profiles}
  - name: relay
    match: {path: {exact: /relay}}
    compose:
      steps:
        - {name: p, path: "/profile?u=${query.u}", target: rid}
  - name: loop
    match: {path: {exact: /loop}}
    compose:
      steps:
        - {name: again, path: /loop}
`, addr, users.srv.URL, profiles.srv.URL, orders.srv.URL, broken.srv.URL, dead, failRoutes.String())
	g := startGateway(t, cfg)
	c := httpClient(t)

	resp, body := get(t, c, "http://"+addr+"/dash/7", "", "X-Tenant", "acme")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Gatehouse-Missing-Steps") != "" {
		t.Fatalf("dash: %d %q %s", resp.StatusCode, resp.Header, body)
	}
	if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Errorf("Content-Length %q for %d bytes", resp.Header.Get("Content-Length"), len(body))
	}
	var doc struct {
		User struct {
			ID       string `json:"id"`
			FullName string `json:"full_name"`
			Password *string
			OrderIDs []int `json:"order_ids"`
		}
		About  map[string]string
		Orders []map[string]any
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err, body)
	}
	if doc.User.ID != "7" || doc.User.FullName != "user 7" || doc.User.Password != nil || len(doc.User.OrderIDs) != 20 {
		t.Errorf("user: %+v", doc.User)
	}
	if doc.About["bio"] != "bio of 7" || doc.About["tenant"] != "acme" || doc.About["rid"] != resp.Header.Get("X-Request-Id") {
		t.Errorf("dependent step: %v", doc.About)
	}
	if len(doc.Orders) != 20 {
		t.Fatalf("%d orders: %s", len(doc.Orders), body)
	}
	for i, o := range doc.Orders {
		if o["id"] != float64(100+i) || o["total"] != float64((100+i)*10) || o["internal"] != nil {
			t.Fatalf("order %d: %v", i, o)
		}
	}
	if got := len(orders.requests()); got != 20 {
		t.Errorf("orders backend saw %d calls, want 20", got)
	}
	if got := profiles.requests(); len(got) != 1 || got[0] != "/profile?u=7" {
		t.Errorf("profiles backend saw %v", got)
	}

	for _, up := range []string{"broken", "dead"} {
		resp, body := get(t, c, "http://"+addr+"/f/"+up+"/fail", "")
		if resp.StatusCode != 502 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `step \"extra\" failed`) {
			t.Errorf("%s fail: %d %s", up, resp.StatusCode, body)
		}
		resp, body = get(t, c, "http://"+addr+"/f/"+up+"/omit", "")
		if resp.StatusCode != 200 || resp.Header.Get("Gatehouse-Missing-Steps") != "extra" || strings.TrimSpace(body) != `{"user":{"id":"1"}}` {
			t.Errorf("%s omit: %d %q %s", up, resp.StatusCode, resp.Header.Get("Gatehouse-Missing-Steps"), body)
		}
		resp, body = get(t, c, "http://"+addr+"/f/"+up+"/default", "")
		if resp.StatusCode != 200 || resp.Header.Get("Gatehouse-Missing-Steps") != "extra" || strings.TrimSpace(body) != `{"extra":{"status":"unknown"},"user":{"id":"1"}}` {
			t.Errorf("%s default: %d %s", up, resp.StatusCode, body)
		}
	}

	resp, body = get(t, c, "http://"+addr+"/outer", "")
	if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"in":{"inner":true}}` {
		t.Errorf("route-relative step: %d %s", resp.StatusCode, body)
	}
	// A route-relative step is the same request to the access log and
	// the upstream: the client's request id travels with it.
	resp, body = get(t, c, "http://"+addr+"/relay?u=z", "")
	if rid := resp.Header.Get("X-Request-Id"); resp.StatusCode != 200 || rid == "" || strings.TrimSpace(body) != `{"p":"`+rid+`"}` {
		t.Errorf("relay: %d %q %s", resp.StatusCode, rid, body)
	}
	resp, body = get(t, c, "http://"+addr+"/loop", "")
	if resp.StatusCode != 502 || !strings.Contains(body, "again") {
		t.Errorf("self-composing route: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, c, "HEAD", "http://"+addr+"/dash/8", "")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d %q %q", resp.StatusCode, resp.Header, body)
	}

	// Route-relative steps see the current snapshot after a reload.
	g.rewrite(strings.Replace(cfg, `'{"inner":true}'`, `'{"inner":2}'`, 1))
	g.reload()
	if !waitFor(10*time.Second, func() bool {
		_, body := get(t, c, "http://"+addr+"/outer", "")
		return strings.TrimSpace(body) == `{"in":{"inner":2}}`
	}) {
		t.Errorf("after a reload, the route-relative step still sees the old route")
	}

	g.waitMetric(`gatehouse_compose_steps_total{result="ok",route="dash",step="orders"}`, 2, 10*time.Second)
	g.waitMetric(`gatehouse_compose_steps_total{result="omitted",route="f-dead-omit",step="extra"}`, 1, 10*time.Second)
	g.waitMetric(`gatehouse_compose_steps_total{result="default",route="f-broken-default",step="extra"}`, 1, 10*time.Second)
	if !waitFor(10*time.Second, func() bool { return strings.Contains(g.accessLog(), `"compose":"user:ok:`) }) {
		t.Errorf("access log has no compose field:\n%s", tail(g.accessLog(), 5))
	}
}

// TestComposeLatency: three parallel steps whose backends take 50, 100
// and 150 ms: the composition takes the slowest plus a small overhead.
func TestComposeLatency(t *testing.T) {
	t.Parallel()
	var ups []*composeBackend
	for _, d := range []int{50, 100, 150} {
		ups = append(ups, newComposeBackend(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Duration(d) * time.Millisecond)
			fmt.Fprintf(w, `{"ms":%d}`, d)
		}))
	}
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: web, address: %s}
upstreams:
  - {name: a, targets: [{url: "%s"}]}
  - {name: b, targets: [{url: "%s"}]}
  - {name: c, targets: [{url: "%s"}]}
routes:
  - name: lat
    compose:
      steps:
        - {name: a, upstream: a}
        - {name: b, upstream: b}
        - {name: c, upstream: c}
`, addr, ups[0].srv.URL, ups[1].srv.URL, ups[2].srv.URL))
	c := httpClient(t)
	const slowest = 150 * time.Millisecond
	var took []time.Duration
	for range 20 {
		start := time.Now()
		resp, body := get(t, c, "http://"+addr+"/", "")
		d := time.Since(start)
		if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"a":{"ms":50},"b":{"ms":100},"c":{"ms":150}}` {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if d < slowest {
			t.Fatalf("composition took %v, less than its slowest step", d)
		}
		took = append(took, d)
	}
	slices.Sort(took)
	median := took[len(took)/2]
	// The baseline: the slowest backend asked directly, by the same
	// client (its sleep and the loopback round trip are not overhead).
	var direct []time.Duration
	for range 20 {
		start := time.Now()
		get(t, c, ups[2].srv.URL+"/", "")
		direct = append(direct, time.Since(start))
	}
	slices.Sort(direct)
	base := direct[len(direct)/2]
	t.Logf("3 parallel steps of 50/100/150 ms: median %v (min %v, max %v); slowest backend asked directly: median %v; overhead %v",
		median, took[0], took[len(took)-1], base, median-base)
	// Generous: a shared, loaded machine (race detector on) still keeps
	// this far below the 300 ms sequential steps would cost.
	if median >= slowest+100*time.Millisecond {
		t.Errorf("median %v: steps did not run in parallel", median)
	}
}

// TestComposeValidateCollision: `gatehouse validate` refuses a merge key
// collision with file:line naming both steps.
func TestComposeValidateCollision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	src := `listeners: [{name: web, address: "127.0.0.1:8080"}]
upstreams: [{name: u, targets: [{url: "http://127.0.0.1:9"}]}]
routes:
  - name: r
    compose:
      merge: merge
      steps:
        - {name: a, upstream: u, allow: [user.name, id]}
        - {name: b, upstream: u, allow: [user]}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runValidate(t, path)
	want := path + `:9: route "r": key collision: steps a and b both write user (step "a" is at ` + path + `:8; rename with mapping or group)`
	if code != 1 || !strings.Contains(stdout+stderr, want) {
		t.Fatalf("exit %d, want 1 and %q in:\n%s%s", code, want, stdout, stderr)
	}
}

// TestComposeExample runs examples/compose.yaml unchanged on its fixed
// ports and checks the composed answer.
func TestComposeExample(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8088", "127.0.0.1:9908", "127.0.0.1:9088", "127.0.0.1:9089"} {
		if !portFree(a) {
			t.Skipf("example port %s is busy on this machine", a)
		}
	}
	src, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	startGatewayFile(t, gatehouseBin, path, "127.0.0.1:9908")
	resp, body := get(t, httpClient(t), "http://127.0.0.1:8088/dashboard/42", "")
	want := `{"orders":[{"id":1,"total":30},{"id":2,"total":12},{"id":3,"total":7}],` +
		`"profile":{"bio":"First programmer","languages":["en"]},` +
		`"stock":{"available":"unknown"},` +
		`"user":{"full_name":"Ada","id":"42","order_ids":[1,2,3]}}`
	if resp.StatusCode != 200 || strings.TrimSpace(body) != want {
		t.Fatalf("%d %s\nwant %s", resp.StatusCode, body, want)
	}
	if got := resp.Header.Get("Gatehouse-Missing-Steps"); got != "recommendations, stock" {
		t.Errorf("Gatehouse-Missing-Steps %q", got)
	}
}
