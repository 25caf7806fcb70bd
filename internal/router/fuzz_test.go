package router

import (
	"cmp"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"/", "/public/../admin", "//admin", "/%61dmin", "/admin%2f..", "/./admin",
		"/%2e%2e/%2E./x", "/a/b/../../..", "/%252e", "/caf%c3%a9", "/café", "/a b?c#d",
		"/a\\b", "/a\x00", "/%", "/%4", "/%zz", "/a/.", "/a/..", "/.well-known", "/a//b//",
		"/%7e%2D%5f", "/%5C", "/%00", "admin", "", "*",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			if out != "" {
				t.Fatalf("error %v with output %q", err, out)
			}
			return
		}
		if !strings.HasPrefix(out, "/") {
			t.Fatalf("%q → %q: no leading slash", in, out)
		}
		if strings.Contains(out, "//") {
			t.Fatalf("%q → %q: contains //", in, out)
		}
		for _, seg := range strings.Split(out[1:], "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q → %q: dot segment", in, out)
			}
		}
		up := strings.ToUpper(out)
		for _, bad := range []string{"%2F", "%5C", "%00"} {
			if strings.Contains(up, bad) {
				t.Fatalf("%q → %q: contains %s", in, out, bad)
			}
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if c == '%' {
				if i+2 >= len(out) || !isUpperHex(out[i+1]) || !isUpperHex(out[i+2]) {
					t.Fatalf("%q → %q: escape at %d not two upper-case hex digits", in, out, i)
				}
				v, _ := url.PathUnescape(out[i : i+3])
				if len(v) == 1 && isUnreserved(v[0]) {
					t.Fatalf("%q → %q: unreserved %q left encoded", in, out, v)
				}
				i += 2
				continue
			}
			if c < 0x21 || c >= 0x7f || c == '\\' {
				t.Fatalf("%q → %q: raw byte %#x", in, out, c)
			}
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", in, out, again, err)
		}
		// Decoding must agree with net/url: both spellings mean the same bytes,
		// except that dot-segments and slash runs were resolved.
		if _, err := url.PathUnescape(in); err != nil {
			t.Fatalf("%q accepted but net/url rejects it: %v", in, err)
		}
	})
}

// --- FuzzMatch and its slow reference --------------------------------------

// fuzzRules is a fixed router configuration covering every host kind, path
// kind and condition, with buckets big enough to be indexed.
var fuzzRules = []Rule[int]{
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/v1"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathExact, Value: "/v1/users"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{id}"}, Methods: []string{"GET"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathTemplate, Value: "/v1/{kind}/{id}"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathTemplate, Value: "/v1/files/{p...}"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathRegex, Value: `/v[0-9]/.*`}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathRegex, Value: `/v1/x|/v2`}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/v1/users/"}, Headers: []ValueMatch{{Name: "x-env", Value: "prod"}}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/v1/users"}, Query: []ValueMatch{{Name: "q", Type: ValueRegex, Value: "[a-z ]+"}}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/v1/users"}, Methods: []string{"POST", "PUT"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/v2"}}}},
	{Matches: []Match{{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathTemplate, Value: "/{a}/{b}/"}}}},
	{Matches: []Match{{Hosts: []string{"*.example.com"}, Path: PathMatch{Type: PathPrefix, Value: "/v1"}, Headers: []ValueMatch{{Name: "X-Ver", Type: ValueRegex, Value: "v[12]"}}}}},
	{Matches: []Match{{Hosts: []string{"*.api.example.com", "[::1]"}, Path: PathMatch{Type: PathPrefix, Value: "/"}}}},
	{Matches: []Match{{Hosts: []string{"*.example.com"}, Path: PathMatch{Type: PathExact, Value: "/"}, Query: []ValueMatch{{Name: "a b", Value: "c+d"}, {Name: "x", Type: ValuePresent}}}}},
	{Matches: []Match{{Hosts: []string{"127.0.0.1", "localhost"}, Path: PathMatch{Type: PathTemplate, Value: "/{any...}"}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/v1/users"}, Methods: []string{"DELETE"}}, {Path: PathMatch{Type: PathExact, Value: "/health"}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathRegex, Value: `/(static|assets)/.+\.(css|js)`}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/v1"}, Headers: []ValueMatch{{Name: "X-Env", Type: ValuePresent}}, Query: []ValueMatch{{Name: "debug", Type: ValuePresent}}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{id}"}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/v1"}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/v1"}}}}, // duplicate: config order decides
	{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/static"}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathTemplate, Value: "/{x}"}}}},
	{Matches: []Match{{Path: PathMatch{Type: PathPrefix, Value: "/"}, Methods: []string{"GET"}}}},
}

func init() {
	for i := range fuzzRules {
		fuzzRules[i].Value = i
	}
}

// refCand is a matching (rule, match) with what precedence needs, computed
// from the configuration text alone.
type refCand struct {
	hostClass, suffixLen  int // 0 exact, 1 wildcard (suffixLen), 2 no hosts
	pathRank, specificity int
	catchAll              bool
	methods               bool
	headers, query        int
	rule, match           int
	params                []string
}

func refLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func refHost(h string) string {
	if strings.HasPrefix(h, "[") {
		inner, _, ok := strings.Cut(h[1:], "]")
		if !ok {
			return ""
		}
		h = inner
	} else if strings.Count(h, ":") == 1 {
		h, _, _ = strings.Cut(h, ":")
	}
	return refLower(strings.TrimSuffix(h, "."))
}

// refHostClass returns the best host class of a match for the request host.
func refHostClass(hosts []string, reqHost string) (class, suffixLen int, ok bool) {
	if len(hosts) == 0 {
		return 2, 0, true
	}
	class = 3
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(refLower(h), "]"), "["), ".")
		if wild, isWild := strings.CutPrefix(h, "*"); isWild {
			if len(reqHost) > len(wild) && strings.HasSuffix(reqHost, wild) && (class > 1 || class == 1 && len(wild) > suffixLen) {
				class, suffixLen = 1, len(wild)
			}
		} else if h == reqHost && reqHost != "" {
			class, suffixLen = 0, 0
		}
	}
	return class, suffixLen, class < 3
}

// refRegexps caches the reference's compiled patterns; compiling per call
// made FuzzMatch ten times slower.
var refRegexps sync.Map

func refFull(pattern, s string) bool {
	re, ok := refRegexps.Load(pattern)
	if !ok {
		re, _ = refRegexps.LoadOrStore(pattern, regexp.MustCompile("^(?:"+pattern+")$"))
	}
	return re.(*regexp.Regexp).MatchString(s)
}

// refTemplate matches by splitting both strings on "/".
func refTemplate(tmpl, path string) ([]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	ts, ps := strings.Split(tmpl[1:], "/"), strings.Split(path[1:], "/")
	var params []string
	for k, t := range ts {
		if name, ok := strings.CutSuffix(t, "...}"); ok {
			if k >= len(ps) {
				return nil, false
			}
			rest := strings.Join(ps[k:], "/")
			if rest == "" {
				return nil, false
			}
			return append(params, name[1:], rest), true
		}
		if k >= len(ps) {
			return nil, false
		}
		if strings.HasPrefix(t, "{") {
			if ps[k] == "" {
				return nil, false
			}
			params = append(params, t[1:len(t)-1], ps[k])
		} else if t != ps[k] {
			return nil, false
		}
	}
	return params, len(ps) == len(ts)
}

var refParam = regexp.MustCompile(`\{[^}]*\}`)

func refLiteral(tmpl string) int {
	n := len(tmpl)
	for _, m := range refParam.FindAllString(tmpl, -1) {
		n -= len(m)
	}
	return n
}

func refValue(v ValueMatch, got string) bool {
	switch v.Type {
	case ValuePresent:
		return true
	case ValueRegex:
		return refFull(v.Value, got)
	}
	return got == v.Value
}

// refMatch checks every rule and match and returns the best by the
// precedence rules, written out as one comparison.
func refMatch(rules []Rule[int], host, method, path string, header http.Header, rawQuery string) (int, []string, bool) {
	reqHost := refHost(host)
	query, _ := url.ParseQuery(rawQuery)
	var found []refCand
	for i, r := range rules {
		ms := r.Matches
		if len(ms) == 0 {
			ms = []Match{{}}
		}
	match:
		for j, m := range ms {
			c := refCand{rule: i, match: j, methods: len(m.Methods) > 0, headers: len(m.Headers), query: len(m.Query)}
			var ok bool
			if c.hostClass, c.suffixLen, ok = refHostClass(m.Hosts, reqHost); !ok {
				continue
			}
			switch v := m.Path.Value; m.Path.Type {
			case PathExact:
				c.pathRank, c.specificity = 0, len(v)
				ok = path == v
			case PathTemplate:
				c.pathRank, c.specificity, c.catchAll = 1, refLiteral(v), strings.HasSuffix(v, "...}")
				c.params, ok = refTemplate(v, path)
			case PathRegex:
				c.pathRank, c.specificity = 2, len(v)
				ok = refFull(v, path)
			default:
				v = strings.TrimSuffix(v, "/")
				c.pathRank, c.specificity = 3, len(v)
				ok = path == v || strings.HasPrefix(path, v+"/")
			}
			if !ok || len(m.Methods) > 0 && !slices.Contains(m.Methods, method) {
				continue
			}
			for _, h := range m.Headers {
				if !slices.ContainsFunc(header.Values(h.Name), func(s string) bool { return refValue(h, s) }) {
					continue match
				}
			}
			for _, q := range m.Query {
				if vs := query[q.Name]; len(vs) == 0 || !refValue(q, vs[0]) {
					continue match
				}
			}
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return 0, nil, false
	}
	best := slices.MinFunc(found, func(a, b refCand) int {
		return cmp.Or(
			cmp.Compare(a.hostClass, b.hostClass),
			cmp.Compare(b.suffixLen, a.suffixLen),
			cmp.Compare(a.pathRank, b.pathRank),
			cmp.Compare(b.specificity, a.specificity),
			cmp.Compare(boolInt(a.catchAll), boolInt(b.catchAll)),
			cmp.Compare(boolInt(b.methods), boolInt(a.methods)),
			cmp.Compare(b.headers, a.headers),
			cmp.Compare(b.query, a.query),
			cmp.Compare(a.rule, b.rule),
			cmp.Compare(a.match, b.match),
		)
	})
	return best.rule, best.params, true
}

func paramsList(p *Params) []string {
	var out []string
	for i := 0; i < p.Len(); i++ {
		n, v := p.At(i)
		out = append(out, n, v)
	}
	return out
}

func FuzzMatch(f *testing.F) {
	linear, err := newRouter(fuzzRules, 1<<30)
	if err != nil {
		f.Fatal(err)
	}
	indexed, err := newRouter(fuzzRules, 1)
	if err != nil {
		f.Fatal(err)
	}
	def, err := New(fuzzRules)
	if err != nil {
		f.Fatal(err)
	}
	// bigRules has enough hosts and segments for the hashed lookups.
	big, err := New(bigRules())
	if err != nil {
		f.Fatal(err)
	}
	bigRef := bigRules()
	seeds := []struct{ host, method, path, query, env, ver string }{
		{"api.example.com", "GET", "/v1/users/42", "", "", ""},
		{"API.example.com:8080", "POST", "/v1/users", "q=ab+c", "prod", ""},
		{"a.api.example.com.", "GET", "/v1/x", "", "", "v2"},
		{"[::1]:80", "DELETE", "/v1/users/1", "", "", ""},
		{"x.example.com", "GET", "/", "a+b=c%2Bd&x", "", ""},
		{"localhost", "GET", "/static/a.css", "", "", ""},
		{"other", "GET", "/v1/files/a/b", "debug", "dev", ""},
		{"api.example.com", "GET", "/v1/files/", "", "", ""},
		{"api.example.com", "PUT", "/a/b/", "q=%zz&q=x", "", ""},
		{"", "GET", "", "", "", ""},
		{"[", "GET", "v1", ";", "", ""},
		{"H3.EXAMPLE.COM", "GET", "/api/v7", "", "", ""},
		{"h5.example.com:1", "GET", "/s3/q", "", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.host, s.method, s.path, s.query, s.env, s.ver)
	}
	f.Fuzz(func(t *testing.T, host, method, path, rawQuery, env, ver string) {
		header := http.Header{}
		if env != "" {
			header.Set("X-Env", env)
		}
		if ver != "" {
			header.Set("X-Ver", ver)
		}
		paths := []string{path}
		if n, err := Normalize(path); err == nil && n != path {
			paths = append(paths, n)
		}
		for _, p := range paths {
			wantRule, wantParams, wantOK := refMatch(fuzzRules, host, method, p, header, rawQuery)
			for _, r := range []*Router[int]{def, linear, indexed} {
				var params Params
				got, ok := r.Match(host, method, p, header, rawQuery, &params)
				if ok != wantOK || got != wantRule {
					t.Fatalf("Match(%q, %q, %q, %v, %q) = %d, %v; reference %d, %v", host, method, p, header, rawQuery, got, ok, wantRule, wantOK)
				}
				if gp := paramsList(&params); !slices.Equal(gp, wantParams) {
					t.Fatalf("Match(%q, %q, %q) params %q; reference %q", host, method, p, gp, wantParams)
				}
				if got2, ok2 := r.Match(host, method, p, header, rawQuery, nil); got2 != got || ok2 != ok {
					t.Fatalf("nil params changed the result: %d, %v", got2, ok2)
				}
			}
			wantRule, wantParams, wantOK = refMatch(bigRef, host, method, p, header, rawQuery)
			var params Params
			if got, ok := big.Match(host, method, p, header, rawQuery, &params); got != wantRule || ok != wantOK || !slices.Equal(paramsList(&params), wantParams) {
				t.Fatalf("big: Match(%q, %q, %q) = %d, %v, %q; reference %d, %v, %q", host, method, p, got, ok, paramsList(&params), wantRule, wantOK, wantParams)
			}
		}
	})
}
