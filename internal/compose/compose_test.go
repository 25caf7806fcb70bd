package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// jsonHandler answers body as JSON after delay (or the context's end).
func jsonHandler(delay time.Duration, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				w.WriteHeader(http.StatusGatewayTimeout)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	})
}

func statusHandler(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
}

func serve(t testing.TB, c Config, method string) (*httptest.ResponseRecorder, map[string]any, *reqinfo.Info) {
	t.Helper()
	r := httptest.NewRequest(method, "/dash", nil)
	info := &reqinfo.Info{RequestID: "rid", Route: "dash"}
	r = r.WithContext(reqinfo.NewContext(r.Context(), info))
	w := httptest.NewRecorder()
	New(c).ServeHTTP(w, r)
	var doc map[string]any
	if w.Code == 200 && method != http.MethodHead {
		if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("body %q: %v", w.Body, err)
		}
	}
	return w, doc, info
}

func tpl(s string) *expr.Template { return expr.MustTemplate(s, expr.ScopeRequest|expr.ScopeSteps) }

func TestParallelStepsOverlap(t *testing.T) {
	var mu sync.Mutex
	spans := map[string][2]time.Time{}
	timed := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			spans[name] = [2]time.Time{start, time.Now()}
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"n":"`+name+`"}`)
		})
	}
	w, doc, _ := serve(t, Config{Steps: []Step{{Name: "a", Send: timed("a")}, {Name: "b", Send: timed("b")}}}, "GET")
	if w.Code != 200 || doc["a"].(map[string]any)["n"] != "a" || doc["b"].(map[string]any)["n"] != "b" {
		t.Fatalf("%d %v", w.Code, doc)
	}
	a, b := spans["a"], spans["b"]
	// Overlap: each started before the other ended.
	if !a[0].Before(b[1]) || !b[0].Before(a[1]) {
		t.Fatalf("steps did not overlap: a %v b %v", a, b)
	}
}

func TestDependentStepSeesResultAndStartsEarly(t *testing.T) {
	var gotPath atomic.Value
	var slowEnded, depStarted atomic.Int64
	user := jsonHandler(0, `{"id":"u7","orders":[1,2]}`)
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		depStarted.Store(time.Now().UnixNano())
		gotPath.Store(r.URL.RequestURI() + " " + r.Header.Get("X-User") + " " + r.Header.Get("X-Request-Id"))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[]`)
	})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(150 * time.Millisecond)
		slowEnded.Store(time.Now().UnixNano())
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `1`)
	})
	c := Config{Steps: []Step{
		{Name: "user", Send: user},
		{Name: "slow", Send: slow},
		{Name: "orders", Send: orders, Needs: []string{"user"}, URL: tpl("/orders?user=${steps.user.id}"),
			Headers: []Header{{"X-User", tpl("${steps.user.orders}")}}},
	}}
	w, doc, _ := serve(t, c, "GET")
	if w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	if got := gotPath.Load(); got != "/orders?user=u7 [1,2] rid" {
		t.Fatalf("dependent call: %q", got)
	}
	// orders waits only on user, not on the unrelated slow step.
	if depStarted.Load() >= slowEnded.Load() {
		t.Fatal("dependent step waited for an unrelated step")
	}
	if _, ok := doc["slow"]; !ok {
		t.Fatal(doc)
	}
}

func TestForEachOrderAndConcurrency(t *testing.T) {
	var inFlight, maxInFlight, calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		calls.Add(1)
		id := strings.TrimPrefix(r.URL.Path, "/items/")
		// Later items answer sooner, so completion order is reversed.
		var d int
		fmt.Sscan(id, &d)
		time.Sleep(time.Duration(20-d) * time.Millisecond)
		inFlight.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%s,"secret":1}`, id)
	})
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	list := jsonHandler(0, `{"ids":[`+strings.Join(ids, ",")+`]}`)
	each, _ := expr.Lookup("steps.list.ids", expr.ScopeSteps)
	c := Config{Steps: []Step{
		{Name: "list", Send: list},
		{Name: "items", Send: h, Needs: []string{"list"}, ForEach: each, Concurrency: 3, URL: tpl("/items/${item}"),
			Shape: func(v any) (any, error) { m := v.(map[string]any); delete(m, "secret"); return m, nil }},
	}}
	w, doc, _ := serve(t, c, "GET")
	if w.Code != 200 {
		t.Fatal(w.Code, w.Body)
	}
	items := doc["items"].([]any)
	if len(items) != 20 || calls.Load() != 20 {
		t.Fatalf("%d items, %d calls", len(items), calls.Load())
	}
	for i, it := range items {
		m := it.(map[string]any)
		if m["id"] != float64(i) || m["secret"] != nil {
			t.Fatalf("item %d: %v", i, m)
		}
	}
	if m := maxInFlight.Load(); m > 3 || m < 2 {
		t.Fatalf("max in flight %d, want ≤ 3 (and some overlap)", m)
	}
}

func TestForEachBounds(t *testing.T) {
	list := jsonHandler(0, `{"ids":[1,2,3],"s":"x"}`)
	each, _ := expr.Lookup("steps.list.ids", expr.ScopeSteps)
	notArray, _ := expr.Lookup("steps.list.s", expr.ScopeSteps)
	for name, st := range map[string]Step{
		"max_items": {Name: "items", Send: jsonHandler(0, `1`), Needs: []string{"list"}, ForEach: each, MaxItems: 2},
		"not array": {Name: "items", Send: jsonHandler(0, `1`), Needs: []string{"list"}, ForEach: notArray},
		"one fails": {Name: "items", Send: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/2" {
				w.WriteHeader(500)
				return
			}
			io.WriteString(w, "1")
		}), Needs: []string{"list"}, ForEach: each, URL: tpl("/${item}")},
	} {
		w, _, _ := serve(t, Config{Steps: []Step{{Name: "list", Send: list}, st}}, "GET")
		if w.Code != 502 || !strings.Contains(w.Body.String(), `step \"items\" failed`) {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
}

func TestOnError(t *testing.T) {
	var observed sync.Map
	obs := func(name string) func(Result, time.Duration) {
		return func(r Result, _ time.Duration) { observed.Store(name, r) }
	}
	steps := func(on OnError) []Step {
		return []Step{
			{Name: "good", Send: jsonHandler(0, `{"a":1}`), Observe: obs("good")},
			{Name: "bad", Send: statusHandler(500), OnError: on, Default: map[string]any{"orders": []any{}}, Observe: obs("bad")},
		}
	}
	w, _, info := serve(t, Config{Steps: steps(Fail)}, "GET")
	if w.Code != 502 || !strings.Contains(w.Body.String(), `step \"bad\" failed: status 500`) || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("fail: %d %s", w.Code, w.Body)
	}
	if r, _ := observed.Load("bad"); r != Error {
		t.Fatal("fail not observed as error", r)
	}
	if !strings.Contains(info.Compose, "bad:error:") {
		t.Fatal(info.Compose)
	}
	w, doc, info := serve(t, Config{Steps: steps(Omit)}, "GET")
	if _, ok := doc["bad"]; w.Code != 200 || ok || doc["good"] == nil || w.Header().Get(MissingHeader) != "bad" {
		t.Fatalf("omit: %d %v %q", w.Code, doc, w.Header())
	}
	if !strings.HasPrefix(info.Compose, "good:ok:") || !strings.Contains(info.Compose, ",bad:omitted:") {
		t.Fatal(info.Compose)
	}
	w, doc, _ = serve(t, Config{Steps: steps(UseDefault)}, "GET")
	if w.Code != 200 || fmt.Sprint(doc["bad"]) != "map[orders:[]]" || w.Header().Get(MissingHeader) != "bad" {
		t.Fatalf("default: %d %v", w.Code, doc)
	}
	if r, _ := observed.Load("bad"); r != Defaulted {
		t.Fatal(r)
	}
}

func TestStepErrors(t *testing.T) {
	cases := map[string]struct {
		h    http.Handler
		want string
	}{
		"not json": {http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<p>")
		}), "not JSON"},
		"invalid json": {jsonHandler(0, `{"a":`), "not valid JSON"},
		"too large":    {jsonHandler(0, `"`+strings.Repeat("x", 100)+`"`), "over 64 bytes"},
		"aborted": {http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "{")
			panic(http.ErrAbortHandler)
		}), "broke off"},
		"step timeout": {jsonHandler(time.Second, `1`), "timed out"},
	}
	for name, tc := range cases {
		w, _, _ := serve(t, Config{MaxBodyBytes: 64, Steps: []Step{{Name: "s", Send: tc.h, Timeout: 20 * time.Millisecond}}}, "GET")
		if w.Code != 502 || !strings.Contains(w.Body.String(), tc.want) {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
		}
	}
	// 204 with no body is null, a success.
	w, doc, _ := serve(t, Config{Steps: []Step{{Name: "s", Send: statusHandler(204)}}}, "GET")
	if v, ok := doc["s"]; w.Code != 200 || !ok || v != nil {
		t.Fatal(w.Code, doc)
	}
}

func TestRouteTimeout504(t *testing.T) {
	start := time.Now()
	w, _, _ := serve(t, Config{Timeout: 50 * time.Millisecond, Steps: []Step{
		{Name: "slow", Send: jsonHandler(5*time.Second, `1`), OnError: Omit},
	}}, "GET")
	if w.Code != 504 || time.Since(start) > 2*time.Second {
		t.Fatalf("%d after %v: %s", w.Code, time.Since(start), w.Body)
	}
}

func TestMergeStrategies(t *testing.T) {
	a := jsonHandler(10*time.Millisecond, `{"user":{"name":"n","id":1},"x":1}`)
	b := jsonHandler(0, `{"user":{"city":"c"},"x":2}`)
	var collisions atomic.Int64
	w, doc, _ := serve(t, Config{Strategy: Merge, OnCollision: func() { collisions.Add(1) },
		Steps: []Step{{Name: "a", Send: a}, {Name: "b", Send: b}, {Name: "c", Send: jsonHandler(0, `[1]`), Key: "extra.list"}}}, "GET")
	if w.Code != 200 {
		t.Fatal(w.Code)
	}
	// b is later in step order: it wins x although it answered first.
	want := `map[extra:map[list:[1]] user:map[city:c id:1 name:n] x:2]`
	if fmt.Sprint(doc) != want || collisions.Load() != 1 {
		t.Fatalf("merge: %v, %d collisions", doc, collisions.Load())
	}
	r := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	New(Config{Strategy: Append, Steps: []Step{{Name: "a", Send: jsonHandler(5*time.Millisecond, `[1,2]`)}, {Name: "b", Send: jsonHandler(0, `{"c":3}`)},
		{Name: "z", Send: statusHandler(500), OnError: Omit}}}).ServeHTTP(rec, r)
	if got := strings.TrimSpace(rec.Body.String()); got != `[1,2,{"c":3}]` {
		t.Fatalf("append: %s", got)
	}
	_, doc, _ = serve(t, Config{Steps: []Step{{Name: "a", Send: a, Key: "profile"}}}, "GET")
	if _, ok := doc["profile"]; !ok {
		t.Fatalf("group key: %v", doc)
	}
}

func TestWhenSkips(t *testing.T) {
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); io.WriteString(w, "1") })
	w, doc, info := serve(t, Config{Steps: []Step{{Name: "a", Send: h, When: func(*expr.Vars) bool { return false }}}}, "GET")
	if _, ok := doc["a"]; w.Code != 200 || ok || calls.Load() != 0 || w.Header().Get(MissingHeader) != "" || !strings.HasPrefix(info.Compose, "a:skipped:") {
		t.Fatal(w.Code, doc, calls.Load(), info.Compose)
	}
}

func TestRecursionGuard(t *testing.T) {
	// A composition whose step dispatches back into itself.
	var c *Compose
	var calls atomic.Int64
	self := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); c.ServeHTTP(w, r) })
	c = New(Config{Steps: []Step{{Name: "again", Send: self, Internal: true, URL: tpl("/dash")}}})
	r := httptest.NewRequest("GET", "/dash", nil)
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	// The innermost answers 508; each level above fails its step: 502.
	if w.Code != 502 || calls.Load() != MaxDepth {
		t.Fatalf("%d after %d calls: %s", w.Code, calls.Load(), w.Body)
	}
	inner := httptest.NewRecorder()
	c.ServeHTTP(inner, r.WithContext(withDepth(context.Background(), MaxDepth)))
	if inner.Code != http.StatusLoopDetected {
		t.Fatal(inner.Code)
	}
}

func TestHeadAndPostBody(t *testing.T) {
	var got atomic.Value
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + r.Header.Get("Content-Type") + " " + string(b) + " " + r.Header.Get("Authorization"))
		io.WriteString(w, `{"ok":true}`)
	})
	body, _, err := CompileBody(map[string]any{"user": "${steps.u.id}", "n": 1, "tag": "t-${steps.u.id}"}, expr.ScopeSteps|expr.ScopeRequest)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("HEAD", "/", nil)
	r.Header.Set("Authorization", "Bearer x")
	w := httptest.NewRecorder()
	New(Config{Steps: []Step{{Name: "u", Send: jsonHandler(0, `{"id":5}`)},
		{Name: "p", Send: h, Method: "POST", Body: body, Needs: []string{"u"}, ForwardHeaders: []string{"authorization"}}}}).ServeHTTP(w, r)
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "0" {
		t.Fatalf("HEAD: %d %q %q", w.Code, w.Body, w.Header())
	}
	if g := got.Load(); g != `POST application/json {"n":1,"tag":"t-5","user":5} Bearer x` {
		t.Fatalf("%q", g)
	}
}

func TestBrokenPlanDoesNotHang(t *testing.T) {
	w, _, _ := serve(t, Config{Steps: []Step{
		{Name: "a", Send: jsonHandler(0, "1"), Needs: []string{"b"}},
		{Name: "b", Send: jsonHandler(0, "1"), Needs: []string{"a"}},
		{Name: "c", Send: jsonHandler(0, "1"), Needs: []string{"nope"}, OnError: Omit},
	}}, "GET")
	if w.Code != 502 {
		t.Fatal(w.Code)
	}
}

func TestBadURLIsStepError(t *testing.T) {
	tp := expr.MustTemplate("/a/${header.x}", expr.ScopeRequest)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X", "../../admin")
	w := httptest.NewRecorder()
	New(Config{Steps: []Step{{Name: "s", Send: jsonHandler(0, "1"), URL: tp}}}).ServeHTTP(w, r)
	if w.Code != 502 {
		t.Fatal(w.Code, w.Body)
	}
}

func BenchmarkCompose3(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1,"name":"n"}`)
	})
	c := New(Config{Steps: []Step{{Name: "a", Send: h}, {Name: "b", Send: h}, {Name: "c", Send: h, URL: tpl("/c/${request_id}")}}})
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{RequestID: "rid"}))
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// A default merged under merge: merge is copied, never written into: it
// is shared by every request.
func TestMergeKeepsDefaultIntact(t *testing.T) {
	def := map[string]any{"user": map[string]any{"name": "?"}}
	c := Config{Strategy: Merge, Steps: []Step{
		{Name: "a", Send: statusHandler(500), OnError: UseDefault, Default: def},
		{Name: "b", Send: jsonHandler(0, `{"user":{"city":"c"}}`)},
	}}
	for range 2 {
		w, doc, _ := serve(t, c, "GET")
		if w.Code != 200 || fmt.Sprint(doc) != "map[user:map[city:c name:?]]" {
			t.Fatal(w.Code, doc)
		}
	}
	if fmt.Sprint(def) != "map[user:map[name:?]]" {
		t.Fatalf("default changed: %v", def)
	}
}

// A step whose need has no result does not call with empty values: an
// omitted need fails it (under its own on_error), a skipped one skips it.
func TestMissingNeed(t *testing.T) {
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); io.WriteString(w, "1") })
	w, doc, info := serve(t, Config{Steps: []Step{
		{Name: "a", Send: statusHandler(500), OnError: Omit},
		{Name: "b", Send: h, Needs: []string{"a"}, OnError: UseDefault, Default: "d"},
		{Name: "c", Send: h, When: func(*expr.Vars) bool { return false }},
		{Name: "d", Send: h, Needs: []string{"c"}},
	}}, "GET")
	if w.Code != 200 || calls.Load() != 0 || fmt.Sprint(doc) != "map[b:d]" || w.Header().Get(MissingHeader) != "a, b" {
		t.Fatal(w.Code, calls.Load(), doc, w.Header())
	}
	if !strings.Contains(info.Compose, "d:skipped:") {
		t.Fatal(info.Compose)
	}
}
