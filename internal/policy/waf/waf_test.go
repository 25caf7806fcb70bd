package waf

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// logBuffer collects slog JSON lines, safe for concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes the logged records.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func newWAF(t testing.TB, cfg Config) (*WAF, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, logs
}

// upstream records what the wrapped handler received.
type upstream struct {
	called bool
	body   []byte
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.called = true
	u.body, _ = io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok"))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func assertBlocked(t *testing.T, rec *httptest.ResponseRecorder, up *upstream) {
	t.Helper()
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q", ct)
	}
	var d problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || d.Status != 403 {
		t.Fatalf("problem body %s: %v", rec.Body, err)
	}
	if up.called {
		t.Fatal("blocked request reached the upstream")
	}
}

func TestBlocksAttacksInQuery(t *testing.T) {
	w, logs := newWAF(t, Config{})
	for name, q := range map[string]string{
		"sqli tautology": "1' OR '1'='1",
		"sqli union":     "1 UNION SELECT password FROM users",
		"xss":            "<script>alert(1)</script>",
	} {
		t.Run(name, func(t *testing.T) {
			up := &upstream{}
			r := httptest.NewRequest("GET", "/items?id="+url.QueryEscape(q), nil)
			assertBlocked(t, serve(w.Wrap(up), r), up)
		})
	}
	if n := len(logs.lines(t)); n != 3 {
		t.Fatalf("%d log lines, want 3", n)
	}
}

func TestBlocksXSSInFormBody(t *testing.T) {
	w, _ := newWAF(t, Config{})
	up := &upstream{}
	r := httptest.NewRequest("POST", "/comments", strings.NewReader("comment="+url.QueryEscape("<script>alert(1)</script>")))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	assertBlocked(t, serve(w.Wrap(up), r), up)
}

func TestBlocksSQLiInJSONBody(t *testing.T) {
	w, _ := newWAF(t, Config{})
	up := &upstream{}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(`{"user":"admin' OR '1'='1' --"}`))
	r.Header.Set("Content-Type", "application/json")
	assertBlocked(t, serve(w.Wrap(up), r), up)
}

// The audit line names the rules, the resolved client and the request id.
func TestAuditLogLine(t *testing.T) {
	w, logs := newWAF(t, Config{})
	r := httptest.NewRequest("GET", "/?q="+url.QueryEscape("<script>alert(1)</script>"), nil)
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{
		ClientIP: netip.MustParseAddr("203.0.113.7"), RequestID: "req-1", Route: "api",
	}))
	rec := serve(w.Wrap(&upstream{}), r)
	if rec.Code != 403 {
		t.Fatalf("status %d", rec.Code)
	}
	var d problem.Details
	json.Unmarshal(rec.Body.Bytes(), &d)
	if d.RequestID != "req-1" {
		t.Fatalf("problem request id %q", d.RequestID)
	}
	lines := logs.lines(t)
	if len(lines) != 1 {
		t.Fatalf("%d lines", len(lines))
	}
	l := lines[0]
	if l["msg"] != "waf blocked" || l["level"] != "WARN" || l["client_ip"] != "203.0.113.7" ||
		l["request_id"] != "req-1" || l["route"] != "api" || l["status"] != float64(403) {
		t.Fatalf("log line %v", l)
	}
	ids, _ := l["rule_ids"].([]any)
	msgs, _ := l["messages"].([]any)
	if !containsID(ids, 941100) || len(msgs) != len(ids) || !strings.Contains(l["uri"].(string), "script") {
		t.Fatalf("log line %v", l)
	}
}

func containsID(ids []any, id int) bool {
	for _, v := range ids {
		if v == float64(id) {
			return true
		}
	}
	return false
}

func TestCleanRequestsPass(t *testing.T) {
	w, logs := newWAF(t, Config{RequestBodyLimit: 1024})
	t.Run("get", func(t *testing.T) {
		up := &upstream{}
		r := httptest.NewRequest("GET", "/items?page=2&sort=name", nil)
		r.Header.Set("Accept", "application/json")
		r.Header.Set("User-Agent", "gatehouse-test/1.0")
		if rec := serve(w.Wrap(up), r); rec.Code != 200 || !up.called {
			t.Fatalf("status %d, body %s", rec.Code, rec.Body)
		}
	})
	for name, size := range map[string]int{"small json": 100, "json beyond the limit": 10_000} {
		t.Run(name, func(t *testing.T) {
			body := jsonBody(size)
			up := &upstream{}
			r := httptest.NewRequest("POST", "/items", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("User-Agent", "gatehouse-test/1.0")
			if rec := serve(w.Wrap(up), r); rec.Code != 200 {
				t.Fatalf("status %d, body %s", rec.Code, rec.Body)
			}
			if !bytes.Equal(up.body, body) {
				t.Fatalf("upstream got %d bytes, want the %d sent", len(up.body), len(body))
			}
		})
	}
	if l := logs.lines(t); len(l) != 0 {
		t.Fatalf("clean requests logged: %v", l)
	}
}

// jsonBody is a valid JSON document of about size bytes.
func jsonBody(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < size-40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"widget","count":12}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// Only the first RequestBodyLimit bytes are inspected (ProcessPartial), and
// within them an attack is still caught.
func TestPartialBodyInspection(t *testing.T) {
	w, _ := newWAF(t, Config{RequestBodyLimit: 1024})
	attack := "comment=" + url.QueryEscape("<script>alert(1)</script>")
	pad := "&pad=" + strings.Repeat("a", 4096)

	up := &upstream{}
	r := httptest.NewRequest("POST", "/c", strings.NewReader(attack+pad))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	assertBlocked(t, serve(w.Wrap(up), r), up)

	up = &upstream{}
	r = httptest.NewRequest("POST", "/c", strings.NewReader(pad[1:]+"&"+attack))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rec := serve(w.Wrap(up), r); rec.Code != 200 || len(up.body) != len(pad)+len(attack) {
		t.Fatalf("status %d, upstream got %d bytes", rec.Code, len(up.body))
	}
}

// A malformed JSON body within the limit is still refused (rule 200002).
func TestMalformedJSONWithinLimitRefused(t *testing.T) {
	w, _ := newWAF(t, Config{})
	up := &upstream{}
	r := httptest.NewRequest("POST", "/items", strings.NewReader(`{"a":`))
	r.Header.Set("Content-Type", "application/json")
	if rec := serve(w.Wrap(up), r); rec.Code != 400 || up.called {
		t.Fatalf("status %d", rec.Code)
	}
}

func TestDetectModeLogsAndPasses(t *testing.T) {
	w, logs := newWAF(t, Config{Mode: ModeDetect})
	up := &upstream{}
	body := "comment=" + url.QueryEscape("<script>alert(1)</script>")
	r := httptest.NewRequest("POST", "/c", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if rec := serve(w.Wrap(up), r); rec.Code != 200 || string(up.body) != body {
		t.Fatalf("status %d, upstream body %q", rec.Code, up.body)
	}
	lines := logs.lines(t)
	if len(lines) != 1 || lines[0]["msg"] != "waf detected" || !containsID(lines[0]["rule_ids"].([]any), 941100) {
		t.Fatalf("log %v", lines)
	}
}

// Excluding the one rule that catches a payload lets it through.
func TestExcludeRules(t *testing.T) {
	// A PHP stream wrapper in an argument is caught only by 933200
	// (PHP wrapper scheme, critical: score 5 at paranoia level 1).
	const payload = "zlib://x"
	target := "/?file=" + url.QueryEscape(payload)

	w, logs := newWAF(t, Config{})
	up := &upstream{}
	assertBlocked(t, serve(w.Wrap(up), httptest.NewRequest("GET", target, nil)), up)
	ids := logs.lines(t)[0]["rule_ids"].([]any)
	// The only finding besides the blocking evaluation (949110).
	if len(ids) != 2 || !containsID(ids, 933200) || !containsID(ids, 949110) {
		t.Fatalf("matched %v", ids)
	}

	w, _ = newWAF(t, Config{ExcludeRules: []int{933200}})
	up = &upstream{}
	if rec := serve(w.Wrap(up), httptest.NewRequest("GET", target, nil)); rec.Code != 200 {
		t.Fatalf("status %d with rule excluded", rec.Code)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"paranoia 0..4":     {ParanoiaLevel: 5},
		"negative paranoia": {ParanoiaLevel: -1},
		"threshold":         {AnomalyThreshold: -3},
		"mode":              {Mode: "monitor"},
		"exclude id":        {ExcludeRules: []int{0}},
		"body limit":        {RequestBodyLimit: -1},
		"body limit max":    {RequestBodyLimit: 2 << 30},
		"directives":        {Directives: "SecRuleEngine Sometimes"},
		"bad rule":          {Directives: `SecRule ARGS "@rx (" "id:1,phase:1,deny"`},
	} {
		t.Run(name, func(t *testing.T) {
			w, err := New(cfg)
			if err == nil || w != nil {
				t.Fatalf("New(%+v) = %v, %v; want an error", cfg, w, err)
			}
			if !strings.HasPrefix(err.Error(), "waf: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// A higher paranoia level catches what level 1 lets through; a higher
// threshold lets through what one critical match would block.
func TestParanoiaAndThreshold(t *testing.T) {
	// Caught only by a paranoia-level-2 SQL rule (942390).
	target := "/?q=" + url.QueryEscape("1 or 1")
	pl1, _ := newWAF(t, Config{})
	pl2, _ := newWAF(t, Config{ParanoiaLevel: 2})
	if rec := serve(pl1.Wrap(&upstream{}), httptest.NewRequest("GET", target, nil)); rec.Code != 200 {
		t.Fatalf("paranoia 1: status %d", rec.Code)
	}
	if rec := serve(pl2.Wrap(&upstream{}), httptest.NewRequest("GET", target, nil)); rec.Code != 403 {
		t.Fatalf("paranoia 2: status %d", rec.Code)
	}

	lax, _ := newWAF(t, Config{AnomalyThreshold: 100})
	xss := "/?q=" + url.QueryEscape("<script>alert(1)</script>")
	if rec := serve(lax.Wrap(&upstream{}), httptest.NewRequest("GET", xss, nil)); rec.Code != 200 {
		t.Fatalf("threshold 100: status %d", rec.Code)
	}
}

// The client address given to the rules is the one resolved through
// trusted proxies, not the direct peer.
func TestClientIPFromReqinfo(t *testing.T) {
	w, _ := newWAF(t, Config{Directives: `SecRule REMOTE_ADDR "@ipMatch 198.51.100.9" "id:10100,phase:1,deny,msg:'blocked client'"`})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5555" // the trusted proxy
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{ClientIP: netip.MustParseAddr("198.51.100.9")}))
	up := &upstream{}
	assertBlocked(t, serve(w.Wrap(up), r), up)

	r = httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "198.51.100.9:5555"
	up = &upstream{}
	assertBlocked(t, serve(w.Wrap(up), r), up)

	r = httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "198.51.100.9:5555" // a proxy; the client is elsewhere
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{ClientIP: netip.MustParseAddr("192.0.2.1")}))
	if rec := serve(w.Wrap(&upstream{}), r); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
}

// New with an identical configuration reuses the loaded rule set.
func TestEngineCache(t *testing.T) {
	a, _ := newWAF(t, Config{ParanoiaLevel: 1, ExcludeRules: []int{942100, 941100}})
	b, _ := newWAF(t, Config{Mode: ModeDetect, ExcludeRules: []int{941100, 942100, 941100}})
	c, _ := newWAF(t, Config{ParanoiaLevel: 2})
	if a.eng != b.eng {
		t.Fatal("equivalent configurations loaded the rules twice")
	}
	if a.eng == c.eng {
		t.Fatal("different configurations share an engine")
	}
}

// Concurrent New calls for one configuration load it once.
func TestEngineCacheConcurrentLoad(t *testing.T) {
	cfg := Config{AnomalyThreshold: 7}
	var wg sync.WaitGroup
	ws := make([]*WAF, 4)
	for i := range ws {
		wg.Go(func() {
			w, err := New(cfg)
			if err != nil {
				t.Error(err)
			}
			ws[i] = w
		})
	}
	wg.Wait()
	for _, w := range ws[1:] {
		if w == nil || w.eng != ws[0].eng {
			t.Fatal("concurrent loads not shared")
		}
	}
}

// The body replayed to the handler cannot be read once the WAF has
// recycled the transaction.
func TestBodyDetachedAfterHandler(t *testing.T) {
	w, _ := newWAF(t, Config{})
	var leaked io.Reader
	h := w.Wrap(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { leaked = r.Body }))
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"a":1}`))
	r.Header.Set("Content-Type", "application/json")
	serve(h, r)
	if _, err := leaked.Read(make([]byte, 8)); err != errBodyDetached {
		t.Fatalf("read after return: %v", err)
	}
}

// Requests are served concurrently through one WAF (run with -race).
func TestConcurrentRequests(t *testing.T) {
	w, _ := newWAF(t, Config{})
	h := w.Wrap(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { io.Copy(rw, r.Body) }))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				q := "page=2"
				want := 200
				if i%2 == 0 {
					q = "id=" + url.QueryEscape("1 UNION SELECT password FROM users")
					want = 403
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/?"+q, nil).WithContext(context.Background()))
				if rec.Code != want {
					t.Errorf("status %d want %d", rec.Code, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// A body that cannot be read is answered, not passed on half-inspected.
func TestBodyReadErrors(t *testing.T) {
	w, _ := newWAF(t, Config{})
	up := &upstream{}
	r := httptest.NewRequest("POST", "/", failingReader{})
	r.Header.Set("Content-Type", "application/json")
	if rec := serve(w.Wrap(up), r); rec.Code != 400 || up.called {
		t.Fatalf("status %d", rec.Code)
	}

	up = &upstream{}
	r = httptest.NewRequest("POST", "/", strings.NewReader(`{"a":"`+strings.Repeat("b", 100)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	r.Body = http.MaxBytesReader(rec, r.Body, 10)
	w.Wrap(up).ServeHTTP(rec, r)
	if rec.Code != 413 || up.called {
		t.Fatalf("status %d", rec.Code)
	}
}
