package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const (
	v1Deprecation = "@1767225600"
	v1Sunset      = "Wed, 30 Jun 2027 00:00:00 GMT"
	v1DocLink     = `<https://docs.example.com/migrate-v2>; rel="deprecation"; type="text/html"`
	v1SunsetLink  = `<https://docs.example.com/migrate-v2>; rel="sunset"; type="text/html"`
)

// TestVersioningExample runs examples/versioning.yaml unchanged on its
// fixed ports: each way of choosing a version (path prefix, Api-Version,
// Accept media type, query parameter, none) reaches the right backend, and
// every v1 answer carries Deprecation, Sunset and Link while v2's carry
// none.
func TestVersioningExample(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8085", "127.0.0.1:9905", "127.0.0.1:9185", "127.0.0.1:9186"} {
		if !portFree(a) {
			t.Skipf("versioning example port %s is busy on this machine", a)
		}
	}
	// Run from a copy: the examples directory is not ours to watch.
	src, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "versioning.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "versioning.yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	startGatewayFile(t, gatehouseBin, path, "127.0.0.1:9905")
	c := httpClient(t)
	const base = "http://127.0.0.1:8085"
	for _, tc := range []struct {
		name, path string
		hdr        []string
		want       string
	}{
		{"path v1", "/v1/users", nil, "1"},
		{"path v2", "/v2/users", nil, "2"},
		{"header v2", "/users", []string{"Api-Version", "2"}, "2"},
		{"header v1", "/users", []string{"Api-Version", "1"}, "1"},
		{"accept v2", "/users", []string{"Accept", "text/html, application/vnd.example.v2+json; q=0.9"}, "2"},
		{"accept v1", "/users/1", []string{"Accept", "Application/VND.Example.V1+JSON"}, "1"},
		{"query v2", "/users?api-version=2", nil, "2"},
		{"no version", "/users", nil, "1"},
		{"unknown version", "/users", []string{"Api-Version", "7"}, "1"},
		{"accept v20 is not v2", "/users", []string{"Accept", "application/vnd.example.v20+json"}, "1"},
	} {
		resp, body := get(t, c, base+tc.path, "", tc.hdr...)
		if resp.StatusCode != 200 || resp.Header.Get("X-Demo-Version") != tc.want || !strings.Contains(body, fmt.Sprintf(`"version":%s`, tc.want)) {
			t.Errorf("%s: %d X-Demo-Version %q %q, want version %s", tc.name, resp.StatusCode, resp.Header.Get("X-Demo-Version"), body, tc.want)
			continue
		}
		dep, sunset, links := resp.Header.Get("Deprecation"), resp.Header.Get("Sunset"), resp.Header.Values("Link")
		if tc.want == "1" {
			if dep != v1Deprecation || sunset != v1Sunset || !slices.Equal(links, []string{v1DocLink, v1SunsetLink}) {
				t.Errorf("%s: v1 answer with Deprecation %q Sunset %q Link %q", tc.name, dep, sunset, links)
			}
		} else if dep != "" || sunset != "" || len(links) != 0 {
			t.Errorf("%s: v2 answer with Deprecation %q Sunset %q Link %q", tc.name, dep, sunset, links)
		}
	}
}

// TestVersionedRoutesOrder: the unversioned route is the default and the
// versioned ones win over it whatever the order of the routes in the file
// (two listeners, the same routes in opposite orders); deprecation headers
// go on error answers too and append to the response's own Link.
func TestVersionedRoutesOrder(t *testing.T) {
	t.Parallel()
	a, b, dead := freeAddr(t), freeAddr(t), freeAddr(t)
	routes := []string{
		`  - {name: default-%[1]s, listeners: [%[1]s], match: {path: {prefix: /items}}, respond: {body: "default"}}`,
		`  - {name: v2-%[1]s, listeners: [%[1]s], match: {path: {prefix: /items}, version: "2"}, respond: {body: "v2"}}`,
		`  - {name: v3-%[1]s, listeners: [%[1]s], match: {path: {prefix: /items}, version: "3"}, respond: {body: "v3"}}`,
	}
	var yaml strings.Builder
	fmt.Fprintf(&yaml, `
listeners:
  - {name: a, address: %s}
  - {name: b, address: %s}
upstreams:
  - {name: gone, targets: [{url: "http://%s"}]}
routes:
`, a, b, dead)
	for _, r := range routes {
		fmt.Fprintf(&yaml, r+"\n", "a")
	}
	for _, r := range slices.Backward(routes) {
		fmt.Fprintf(&yaml, r+"\n", "b")
	}
	yaml.WriteString(`  - name: old
    match: {path: {prefix: /old}}
    filters: [{deprecation: {since: 2026-01-01T00:00:00Z, link: "https://docs.example.com/old"}}]
    respond: {headers: {Link: "</next>; rel=\"next\""}, body: "old"}
  - name: gone
    match: {path: {prefix: /gone}}
    filters: [{deprecation: {since: 2026-01-01T00:00:00Z, sunset: 2027-06-30T00:00:00Z}}]
    backend: {upstream: gone}
`)
	startGateway(t, yaml.String())
	c := httpClient(t)
	for _, addr := range []string{a, b} {
		for _, tc := range []struct {
			hdr  []string
			want string
		}{
			{[]string{"Api-Version", "2"}, "v2"},
			{[]string{"Api-Version", "3"}, "v3"},
			{nil, "default"},
			{[]string{"Api-Version", "4"}, "default"},
			{[]string{"Accept", "application/vnd.example.v2+json"}, "default"}, // no media_type configured
		} {
			if resp, body := get(t, c, "http://"+addr+"/items", "", tc.hdr...); resp.StatusCode != 200 || body != tc.want {
				t.Errorf("%s %v: %d %q, want %q", addr, tc.hdr, resp.StatusCode, body, tc.want)
			}
			if resp, body := get(t, c, "http://"+addr+"/items?api-version=2", "", tc.hdr...); body != tc.want {
				t.Errorf("%s %v ?api-version=2 (no query configured): %d %q, want %q", addr, tc.hdr, resp.StatusCode, body, tc.want)
			}
		}
	}
	resp, body := get(t, c, "http://"+a+"/old", "")
	if want := []string{`</next>; rel="next"`, `<https://docs.example.com/old>; rel="deprecation"; type="text/html"`}; body != "old" ||
		resp.Header.Get("Deprecation") != "@1767225600" || !slices.Equal(resp.Header.Values("Link"), want) || resp.Header.Get("Sunset") != "" {
		t.Errorf("/old: %q Deprecation %q Sunset %q Link %q", body, resp.Header.Get("Deprecation"), resp.Header.Get("Sunset"), resp.Header.Values("Link"))
	}
	resp, body = get(t, c, "http://"+a+"/gone", "")
	if resp.StatusCode != 502 || resp.Header.Get("Deprecation") != "@1767225600" || resp.Header.Get("Sunset") != "Wed, 30 Jun 2027 00:00:00 GMT" || len(resp.Header.Values("Link")) != 0 {
		t.Errorf("/gone: %d %q Deprecation %q Sunset %q Link %q", resp.StatusCode, body, resp.Header.Get("Deprecation"), resp.Header.Get("Sunset"), resp.Header.Values("Link"))
	}
}
