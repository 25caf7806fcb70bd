package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bodyBackend answers:
//
//	/…/echo        the request body back as JSON, with what framing it
//	               arrived in (X-Got-Length, X-Got-Chunked)
//	/…/doc         a fixed JSON document with an ETag
//	/…/size/N      a JSON document of exactly N bytes with an ETag;
//	               ?chunked=1 sends it without Content-Length
type bodyBackend struct {
	srv  *httptest.Server
	hits atomic.Int64
}

// sizedJSON is a JSON document of exactly n bytes (n ≥ 8).
func sizedJSON(n int) []byte {
	return []byte(`{"s":"` + strings.Repeat("a", n-8) + `"}`)
}

const bodyDoc = `{"id":12345678901234567890,"user":{"name":"ann","password":"x"},"items":[{"id":1,"tag":"a<b"},{"id":2,"tag":"c"}]}`

func newBodyBackend(t *testing.T) *bodyBackend {
	t.Helper()
	b := &bodyBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/echo"):
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("X-Got-Length", strconv.FormatInt(r.ContentLength, 10))
			w.Header().Set("X-Got-Chunked", strconv.FormatBool(len(r.TransferEncoding) > 0))
			w.Header().Set("X-Got-Type", r.Header.Get("Content-Type"))
			w.Header().Set("Content-Type", "text/plain") // the echo itself is not transformed
			w.Write(body)
		case strings.HasSuffix(r.URL.Path, "/doc"):
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("ETag", `"doc-1"`)
			io.WriteString(w, bodyDoc)
		case strings.Contains(r.URL.Path, "/size/"):
			n, _ := strconv.Atoi(r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:])
			doc := sizedJSON(n)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"big"`)
			if r.URL.Query().Get("chunked") == "1" {
				// Flushed halves: no Content-Length, the gateway learns
				// the size only by reading.
				w.Write(doc[:len(doc)/2])
				http.NewResponseController(w).Flush()
				w.Write(doc[len(doc)/2:])
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(doc)))
			w.Write(doc)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func bodySeries(route, direction, result string) string {
	return fmt.Sprintf(`gatehouse_body_transforms_total{direction="%s",result="%s",route="%s"}`, direction, result, route)
}

// postExpect POSTs JSON with Expect: 100-continue on its own connection.
func postExpect(t *testing.T, url string, body []byte) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{ExpectContinueTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(t *testing.T, c *http.Client, url, ctype string, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading body: %v", url, err)
	}
	return resp, string(b)
}

// TestBodyTransforms: request and response bodies transformed on their
// way through the real binary to and from a real backend, the 1 MiB
// bound on both sides, jq, and the counters on /metrics.
func TestBodyTransforms(t *testing.T) {
	t.Parallel()
	be := newBodyBackend(t)
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: web, address: %s}
upstreams:
  - {name: be, targets: [{url: "%s"}]}
routes:
  - name: req
    match: {path: {prefix: /req}}
    backend: {upstream: be}
    filters:
      - request_body:
          remove: [secret]
          rename: {name: full_name}
          set: {via: gatehouse, meta.n: 12345678901234567890, tags: [a, 1, true, null]}
  - name: resp
    match: {path: {prefix: /resp}}
    backend: {upstream: be}
    filters:
      - response_body:
          allow: [id, user, items.*.id]
          deny: [user.password]
          wrap: data
  - name: jq
    match: {path: {prefix: /jq}}
    backend: {upstream: be}
    filters:
      - response_body:
          jq: '{id, name: .user.name, tags: [.items[].tag]}'
  - name: big
    match: {path: {prefix: /big}}
    backend: {upstream: be}
    filters:
      - request_body: {wrap: d}
      - response_body: {wrap: d}
`, addr, be.srv.URL))
	c := httpClient(t)
	base := "http://" + addr

	t.Run("request", func(t *testing.T) {
		resp, body := post(t, c, base+"/req/echo", "application/json", []byte(`{"name":"ann","secret":"s3","keep":[1,2]}`))
		want := `{"full_name":"ann","keep":[1,2],"meta":{"n":12345678901234567890},"tags":["a",1,true,null],"via":"gatehouse"}`
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("backend got %d %q, want %q", resp.StatusCode, body, want)
		}
		if resp.Header.Get("X-Got-Length") != strconv.Itoa(len(want)) || resp.Header.Get("X-Got-Chunked") != "false" {
			t.Errorf("backend framing: length %s chunked %s, want %d", resp.Header.Get("X-Got-Length"), resp.Header.Get("X-Got-Chunked"), len(want))
		}
		// Chunked from the client: sent on with a Content-Length.
		req, _ := http.NewRequest("POST", base+"/req/echo", io.MultiReader(strings.NewReader(`{"name":`), strings.NewReader(`"bo"}`)))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		r2, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := io.ReadAll(r2.Body)
		r2.Body.Close()
		if want := `{"full_name":"bo","meta":{"n":12345678901234567890},"tags":["a",1,true,null],"via":"gatehouse"}`; string(b2) != want ||
			r2.Header.Get("X-Got-Chunked") != "false" || r2.Header.Get("X-Got-Length") != strconv.Itoa(len(want)) {
			t.Errorf("chunked request: %q %v", b2, r2.Header)
		}
		// Not JSON: untouched.
		resp, body = post(t, c, base+"/req/echo", "text/plain", []byte(`{"secret":1}`))
		if body != `{"secret":1}` {
			t.Errorf("text body changed: %q", body)
		}
		// Invalid JSON: 400 problem, the backend is not asked.
		hits := be.hits.Load()
		resp, body = post(t, c, base+"/req/echo", "application/json", []byte(`{"name":`))
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" || be.hits.Load() != hits {
			t.Errorf("invalid JSON: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("response", func(t *testing.T) {
		resp, body := get(t, c, base+"/resp/doc", "")
		want := `{"data":{"id":12345678901234567890,"items":[{"id":1},{"id":2}],"user":{"name":"ann"}}}`
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("got %d %q, want %q", resp.StatusCode, body, want)
		}
		if resp.ContentLength != int64(len(want)) || resp.Header.Get("Etag") != "" {
			t.Errorf("Content-Length %d (want %d), ETag %q (want none)", resp.ContentLength, len(want), resp.Header.Get("Etag"))
		}
		// HEAD: not transformed, the upstream's headers stand.
		resp, _ = do(t, c, "HEAD", base+"/resp/doc", "")
		if resp.StatusCode != 200 || resp.Header.Get("Etag") != `"doc-1"` {
			t.Errorf("HEAD: %d %v", resp.StatusCode, resp.Header)
		}
	})

	t.Run("jq", func(t *testing.T) {
		resp, body := get(t, c, base+"/jq/doc", "")
		if want := `{"id":12345678901234567890,"name":"ann","tags":["a<b","c"]}`; resp.StatusCode != 200 || body != want {
			t.Fatalf("got %d %q, want %q", resp.StatusCode, body, want)
		}
	})

	t.Run("bound", func(t *testing.T) {
		const max = 1 << 20
		// Request exactly at the bound: transformed.
		at := sizedJSON(max)
		resp, body := post(t, c, base+"/big/echo", "application/json", at)
		if resp.StatusCode != 200 || len(body) != max+6 || !strings.HasPrefix(body, `{"d":{"s":"aaa`) || resp.Header.Get("X-Got-Length") != strconv.Itoa(max+6) {
			t.Fatalf("request at the bound: %d, %d bytes, backend length %s", resp.StatusCode, len(body), resp.Header.Get("X-Got-Length"))
		}
		// One byte past it: 413 problem, the backend is not asked. The
		// gateway answers without reading a body announced too large, so
		// the client asks first (Expect: 100-continue) rather than race
		// its 1 MiB write against the refusal and the close.
		hits := be.hits.Load()
		resp, body = postExpect(t, base+"/big/echo", sizedJSON(max+1))
		if resp.StatusCode != 413 || resp.Header.Get("Content-Type") != "application/problem+json" || be.hits.Load() != hits {
			t.Fatalf("request past the bound: %d %q", resp.StatusCode, body)
		}
		// Chunked, so the size shows only while reading: read to one
		// byte past the bound, then refused.
		req, _ := http.NewRequest("POST", base+"/big/echo", io.MultiReader(bytes.NewReader(sizedJSON(max+1))))
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = -1
		r2, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, r2.Body)
		r2.Body.Close()
		if r2.StatusCode != 413 || be.hits.Load() != hits {
			t.Fatalf("chunked request past the bound: %d", r2.StatusCode)
		}
		// Response at the bound, announced or not: transformed.
		for _, q := range []string{"", "?chunked=1"} {
			resp, body = get(t, c, base+"/big/size/"+strconv.Itoa(max)+q, "")
			if resp.StatusCode != 200 || len(body) != max+6 || resp.ContentLength != max+6 || resp.Header.Get("Etag") != "" {
				t.Fatalf("response at the bound%s: %d, %d bytes, Content-Length %d", q, resp.StatusCode, len(body), resp.ContentLength)
			}
		}
		// Past it, announced or not: untouched, ETag kept.
		past := string(sizedJSON(max + 1))
		for _, q := range []string{"", "?chunked=1"} {
			resp, body = get(t, c, base+"/big/size/"+strconv.Itoa(max+1)+q, "")
			if resp.StatusCode != 200 || body != past || resp.Header.Get("Etag") != `"big"` {
				t.Fatalf("response past the bound%s: %d, %d bytes, ETag %q", q, resp.StatusCode, len(body), resp.Header.Get("Etag"))
			}
		}
	})

	// Counters: every outcome above, under its route and direction.
	for series, want := range map[string]float64{
		bodySeries("req", "request", "transformed"):      2,
		bodySeries("req", "request", "skipped_type"):     1,
		bodySeries("req", "request", "invalid"):          1,
		bodySeries("resp", "response", "transformed"):    1,
		bodySeries("resp", "response", "skipped_status"): 1,
		bodySeries("jq", "response", "transformed"):      1,
		bodySeries("big", "request", "transformed"):      1,
		bodySeries("big", "request", "too_large"):        2,
		bodySeries("big", "response", "transformed"):     2,
		bodySeries("big", "response", "skipped_size"):    2,
	} {
		m := g.waitMetric(series, want, 10*time.Second)
		if v, _ := metricValue(m, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
}

// TestBodyTransformValidate: validate refuses a bad jq program and a bad
// path, each at its own file:line with the parser's message.
func TestBodyTransformValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.yaml")
	src := `listeners: [{name: web, address: "127.0.0.1:8080"}]
upstreams:
  - {name: be, targets: [{url: "http://127.0.0.1:9000"}]}
routes:
  - name: r
    backend: {upstream: be}
    filters:
      - response_body:
          jq: '{id, name: .user.name'
      - request_body:
          allow:
            - items.*.id
            - items..name
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runValidate(t, path)
	out := stdout + stderr
	if code == 0 {
		t.Fatalf("validate accepted it:\n%s", out)
	}
	for _, want := range []string{
		`gatehouse.yaml:9: route "r": response_body jq: unexpected EOF`,
		`gatehouse.yaml:13: route "r": request_body allow: path "items..name": empty segment at offset 6`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// Fixed, it validates.
	fixed := strings.Replace(strings.Replace(src, "items..name", "items.*.name", 1), ".user.name'", ".user.name}'", 1)
	if err := os.WriteFile(path, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runValidate(t, path); code != 0 {
		t.Fatalf("validate refused the fixed file: %s%s", stdout, stderr)
	}
}
