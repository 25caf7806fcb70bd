package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestErrorShapes(t *testing.T) {
	// The three shapes the rest of Gatehouse and its users rely on.
	wantErr(t, minimal+`upstreams:
  - name: users
    targets: [{url: "http://127.0.0.1:9000"}]
routes:
  - name: users
    backend: {upstrem: users}
`, `gatehouse.yaml:9: unknown key "upstrem" in route "users" (did you mean "upstream"?)`)
	wantErr(t, minimal+`upstrem: []
`, `gatehouse.yaml:4: unknown key "upstrem" (did you mean "upstreams"?)`)
	wantErr(t, minimal+`upstreams:
  - name: users
    targets: [{url: "http://127.0.0.1:9000"}]
routes:
  - name: users-api
    backend:
      upstream: user
`, `gatehouse.yaml:10: route "users-api": upstream "user" not found (did you mean "users"?)`)
	wantErr(t, `listeners:
  - name: public
    address: :8080
    timeouts:
      read_header: 5 seconds
`, `gatehouse.yaml:5: listener "public": invalid duration "5 seconds" for read_header (use Go syntax such as 5s or 250ms)`)
}

func TestUnknownKeys(t *testing.T) {
	cases := []struct{ src, want string }{
		{minimal + "listner: []\n", `gatehouse.yaml:4: unknown key "listner" (did you mean "listeners"?)`},
		{minimal + "plugins: {}\n", `gatehouse.yaml:4: unknown key "plugins"`},
		// The owner is known even when the bad key comes before name.
		{"listeners:\n  - adress: :80\n    name: public\n", `gatehouse.yaml:2: unknown key "adress" in listener "public" (did you mean "address"?)`},
		{"listeners:\n  - address: :80\n    timeouts: {reed: 1s}\n", `gatehouse.yaml:3: unknown key "reed" in unnamed listener (did you mean "read"?)`},
		{minimal + "log: {lvl: info}\n", `gatehouse.yaml:4: unknown key "lvl" in log`},
		{minimal + "admin: {Address: \":9901\"}\n", `gatehouse.yaml:4: unknown key "Address" in admin (did you mean "address"?)`},
	}
	for _, c := range cases {
		wantErr(t, c.src, c.want)
	}
}

func TestExtensionKeysIgnored(t *testing.T) {
	// x- keys hold anchors without being configuration.
	c := mustParse(t, "x-common: &t {weight: 5}\n"+minimal+`upstreams:
  - name: u
    targets: [{<<: *t, url: "http://a:1"}]
`)
	if w := c.Upstreams[0].Targets[0].Weight; w != 5 {
		t.Errorf("weight = %d, want 5 from the x- anchor", w)
	}
}

func TestTypeErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"listeners: {name: a}\n", `gatehouse.yaml:1: listeners must be a list, not a mapping (write [a, b] or one "- item" per line)`},
		{minimal + "routes:\n  - name: r\n    listeners: public\n", `gatehouse.yaml:6: route "r": listeners must be a list, not the value "public" (write [a, b] or one "- item" per line)`},
		{"listeners:\n  - name: [a]\n", `gatehouse.yaml:2: unnamed listener: name must be a string, not a list (quote it if it contains special characters)`},
		{"listeners:\n  - public\n", `gatehouse.yaml:2: listeners item must be a mapping, not the value "public" (write key: value pairs)`},
		{minimal + "reload: {watch: yes}\n", `gatehouse.yaml:4: reload: invalid boolean "yes" for watch (use true or false)`},
		{minimal + "runtime: {gc_percent: 1.5}\n", `gatehouse.yaml:4: runtime: invalid integer "1.5" for gc_percent (use a decimal integer such as 10)`},
		{minimal + "runtime: {gc_percent: 99999999999999999999999}\n", `gatehouse.yaml:4: runtime: number 99999999999999999999999 for gc_percent is out of range`},
		{minimal + "shutdown: {grace_period: 30}\n", `gatehouse.yaml:4: shutdown: duration 30 for grace_period has no unit (add a unit, e.g. 30s or 30ms)`},
		{minimal + "shutdown: {grace_period: -1s}\n", `gatehouse.yaml:4: shutdown: negative duration -1s for grace_period (use 0 to disable it)`},
		{minimal + "shutdown: [1s]\n", `gatehouse.yaml:4: shutdown must be a mapping, not a list (write key: value pairs)`},
		{minimal + "routes:\n  - name: r\n    respond: {headers: [a]}\n", `gatehouse.yaml:6: route "r": headers must be a mapping of names to values, not a list (write name: value pairs)`},
		{minimal + "routes:\n  - name: r\n    respond: {headers: {X-A: [1]}}\n", `gatehouse.yaml:6: route "r": headers.X-A must be a string, not a list (quote it if it contains special characters)`},
		{"listeners:\n  - name: a\n    address: :1\n    max_header_bytes: 12 parsecs\n", `gatehouse.yaml:4: listener "a": invalid size "12 parsecs" for max_header_bytes (use bytes or a unit such as 64KiB, 1MiB, 512KB)`},
		{"listeners:\n  - name: a\n    address: :1\n    trusted_proxies: [10.0.0.0/33]\n", `gatehouse.yaml:4: listener "a": invalid CIDR "10.0.0.0/33" in trusted_proxies (use a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.1)`},
		{"listeners:\n  - name: a\n    address: :1\n    trusted_proxies: [proxy.local]\n", `gatehouse.yaml:4: listener "a": invalid IP address "proxy.local" in trusted_proxies (use a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.1)`},
		{minimal + "routes:\n  - name: r\n    match: {hosts: [a, ~]}\n    respond: {}\n", `gatehouse.yaml:6: route "r": empty item in hosts (remove the empty "-" line)`},
		{"[1, 2]\n", `gatehouse.yaml:1: the top level must be a mapping, not a list (start with sections such as listeners:, upstreams:, routes:)`},
		{"? [a]\n: b\n", `gatehouse.yaml:1: mapping keys must be plain strings (quote the key if it is meant as text)`},
	}
	for _, c := range cases {
		wantErr(t, c.src, c.want)
	}
}

func TestScalarValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"0", 0}, {"5s", 5 * time.Second}, {"250ms", 250 * time.Millisecond}, {"1m30s", 90 * time.Second}} {
		if got, p := parseDuration(c.in, "k"); p != nil || got != c.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", c.in, got, p, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		want int64
	}{{"65536", 65536}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}, {"512KB", 512000}, {"1MB", 1000000}, {"1GiB", 1 << 30}, {"10B", 10}} {
		if got, p := parseSize(c.in, "k"); p != nil || got != c.want {
			t.Errorf("parseSize(%q) = %v, %v; want %v", c.in, got, p, c.want)
		}
	}
	for _, bad := range []string{"-1", "1.5KiB", "KiB", "99999999999GiB", "1 kib"} {
		if _, p := parseSize(bad, "k"); p == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"True", "on", "1", ""} {
		if _, p := parseBool(bad, "k"); p == nil {
			t.Errorf("parseBool(%q) accepted", bad)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"10.1.2.3/8", "10.0.0.0/8"}, {"192.0.2.1", "192.0.2.1/32"}, {"2001:db8::1", "2001:db8::1/128"},
	} {
		if got, p := parsePrefix(c.in, "k"); p != nil || got.String() != c.want {
			t.Errorf("parsePrefix(%q) = %v, %v; want %v", c.in, got, p, c.want)
		}
	}
	if _, p := parsePrefix("fe80::1%eth0", "k"); p == nil {
		t.Error("parsePrefix accepted an address with a zone")
	}
}

func TestQuotedScalarsConvert(t *testing.T) {
	// YAML's own typing is ignored: quoted numbers and booleans work, which
	// is what makes "${PORT}"-style substitution possible.
	c := mustParse(t, minimal+`reload: {watch: "false"}
runtime: {gc_percent: "100"}
shutdown: {grace_period: "0"}
`)
	if c.Reload.Watch || c.Runtime.GCPercent != 100 || c.Shutdown.GracePeriod != 0 {
		t.Errorf("got watch=%v gc=%d grace=%v", c.Reload.Watch, c.Runtime.GCPercent, c.Shutdown.GracePeriod)
	}
}

func TestNullMeansAbsent(t *testing.T) {
	c := mustParse(t, minimal+"admin:\nlog: {level: ~}\nshutdown: {grace_period: null}\n")
	if c.Admin != nil || c.Log.Level != "info" || c.Shutdown.GracePeriod != defaultGracePeriod {
		t.Errorf("null did not mean absent: admin=%v level=%q grace=%v", c.Admin, c.Log.Level, c.Shutdown.GracePeriod)
	}
}

func TestDuplicateKeys(t *testing.T) {
	wantErr(t, minimal+"log: {level: info}\nlog: {level: debug}\n",
		`gatehouse.yaml:5: duplicate key "log" (first defined at line 4; keep only one)`)
	wantErr(t, "listeners:\n  - name: a\n    name: b\n    address: :1\n",
		`gatehouse.yaml:3: listener "a": duplicate key "name" (first defined at line 2; keep only one)`)
	wantErr(t, minimal+"routes:\n  - name: r\n    respond:\n      headers: {X-A: 1, x-a: 2}\n",
		`gatehouse.yaml:7: route "r": duplicate name "x-a" in headers (first defined at line 7; header names are case-insensitive)`)
}

func TestMergeKeys(t *testing.T) {
	c := mustParse(t, `x-base: &base
  address: 127.0.0.1:1
  max_header_bytes: 4KiB
x-more: &more
  max_header_bytes: 8KiB
  h2c: true
listeners:
  - <<: [*base, *more]
    name: a
  - <<: *base
    name: b
    address: 127.0.0.1:2
    max_header_bytes: 2KiB
`)
	a, b := c.Listeners[0], c.Listeners[1]
	// Earlier merge sources win; explicit keys win over merged ones.
	if a.Address != "127.0.0.1:1" || a.MaxHeaderBytes != 4<<10 || !a.H2C {
		t.Errorf("a = %+v", a)
	}
	if b.Address != "127.0.0.1:2" || b.MaxHeaderBytes != 2<<10 {
		t.Errorf("b = %+v", b)
	}
	wantErr(t, minimal+"log:\n  <<: [1]\n", `gatehouse.yaml:5: log: merge key << must refer to a mapping (write <<: *anchor or <<: [*a, *b])`)
	// A self-referencing merge must terminate with an error, not recurse forever.
	got := parseErrs(t, minimal+"log: &a {<<: *a}\n")
	if !strings.Contains(strings.Join(got, "\n"), "nested more than") {
		t.Errorf("self-merge: %v", got)
	}
}

func TestAliases(t *testing.T) {
	c := mustParse(t, `listeners:
  - &l {name: a, address: "127.0.0.1:1"}
upstreams:
  - name: u
    targets: &targets [{url: "http://a:1"}, {url: "http://b:1"}]
  - name: v
    targets: *targets
routes:
  - name: r
    match: {hosts: &hosts [a.example.com]}
    backend: {upstream: u}
  - name: s
    match: {hosts: *hosts, methods: [GET]}
    backend: {upstream: v}
`)
	if len(c.Upstreams[1].Targets) != 2 || c.Routes[1].Match.Hosts[0] != "a.example.com" {
		t.Errorf("aliases not expanded: %+v", c.Upstreams[1])
	}
	// A list of aliases to itself must not loop.
	parseErrs(t, minimal+"routes: &r [*r]\n")
}

func TestAliasBomb(t *testing.T) {
	// Each level multiplies by 10; 8 levels would be 10^8 hosts.
	var b strings.Builder
	b.WriteString(minimal + "x-0: &a0 [a.example.com, a.example.com, a.example.com, a.example.com, a.example.com, a.example.com, a.example.com, a.example.com, a.example.com, a.example.com]\n")
	for i := 1; i <= 8; i++ {
		p := fmt.Sprintf("*a%d", i-1)
		fmt.Fprintf(&b, "x-%d: &a%d {hosts: %s, <<: [%s]}\n", i, i, p, strings.Repeat(p+", ", 9)+p)
	}
	b.WriteString("routes:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  - {name: r%d, respond: {}, matches: [%s]}\n", i, strings.Repeat("*a8, ", 9)+"*a8")
	}
	start := time.Now()
	got := parseErrs(t, b.String())
	if !strings.Contains(strings.Join(got, "\n"), "aliases expand to more than") {
		t.Errorf("alias bomb not reported: %v", got)
	}
	if d := time.Since(start); d > 10*time.Second { // exponential expansion would take hours; the slack is for -race on a busy machine
		t.Errorf("alias bomb took %v", d)
	}
}

func TestAliasBombThroughLists(t *testing.T) {
	// The classic shape: lists of aliases to lists, expanded through the
	// schema's list fields (routes → matches → headers).
	var b strings.Builder
	b.WriteString(minimal + "x-h: &h [" + strings.Repeat("{name: X-A, present: true}, ", 999) + "{name: X-A, present: true}]\n")
	b.WriteString("x-m: &m [" + strings.Repeat("{headers: *h}, ", 999) + "{headers: *h}]\nroutes:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {name: r%d, respond: {}, matches: *m}\n", i)
	}
	got := parseErrs(t, b.String())
	if !strings.Contains(strings.Join(got, "\n"), "aliases expand to more than") {
		t.Errorf("alias bomb not reported: %v", got[:min(len(got), 5)])
	}
}

func TestYAMLSyntaxErrors(t *testing.T) {
	wantErr(t, "listeners:\n\t- name: a\n",
		`gatehouse.yaml:2: invalid YAML: found character that cannot start any token (YAML does not allow tabs for indentation; use spaces)`)
	wantErr(t, "listeners: [\n", `gatehouse.yaml:1: invalid YAML: did not find expected node content`)
	wantErr(t, minimal+"---\nroutes: []\n",
		`gatehouse.yaml:4: file contains more than one YAML document (put each document in its own file and load the directory)`)
	// A leading "---" and a trailing empty document are fine.
	mustParse(t, "---\n"+minimal+"---\n")
}

func TestInputSizeCap(t *testing.T) {
	data := make([]byte, maxFileSize+1)
	for i := range data {
		data[i] = '#'
	}
	_, err := Parse("big.yaml", data)
	if err == nil || err.Error() != "big.yaml: file is larger than 8 MiB (split it into several files in a directory)" {
		t.Errorf("err = %v", err)
	}
}

func TestErrorsSortedAndAllReported(t *testing.T) {
	got := parseErrs(t, `routes:
  - name: r
    bogus: 1
listeners:
  - name: "bad name"
    address: nowhere
log: {level: loud}
`)
	want := []string{
		`gatehouse.yaml:2: route "r": route has no action (add backend: {upstream: NAME}, respond: {...}, redirect: {...} or compose: {...})`,
		`gatehouse.yaml:3: unknown key "bogus" in route "r"`,
		`gatehouse.yaml:5: invalid listener name "bad name" (use letters, digits, '.', '_' or '-', starting with a letter or digit)`,
		`gatehouse.yaml:6: listener "bad name": invalid address "nowhere" (use host:port such as 127.0.0.1:8080 or :8080)`,
		`gatehouse.yaml:7: log: unknown level "loud" (use one of debug, info, warn, error)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant prefix:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "log:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  k%d: 1\n", i)
	}
	got := parseErrs(t, b.String())
	if len(got) != maxErrors+1 || got[maxErrors] != "gatehouse.yaml: too many problems; only the first 1000 are shown (fix these and run again)" {
		t.Errorf("%d errors, last %q", len(got), got[len(got)-1])
	}
}

func TestIdenticalErrorsReportedOnce(t *testing.T) {
	got := parseErrs(t, "x-bad: &bad {address: \":1\", h2c: maybe}\nlisteners:\n  - {<<: *bad, name: a}\n  - {<<: *bad, name: b, address: \":2\"}\n")
	n := 0
	for _, g := range got {
		if strings.Contains(g, `invalid boolean "maybe"`) {
			n++
		}
	}
	// Two owners, so two distinct messages at the anchor's line; no more.
	if n != 2 {
		t.Errorf("got %d reports:\n%s", n, strings.Join(got, "\n"))
	}
}
