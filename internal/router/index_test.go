package router

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// bigRules has more exact hosts and first segments than smallMapMax and
// smallSegMax, so the hashed host map (with upper-case folding) and the
// hashed segment index are used, plus regexes whose literal prefix fixes the
// first segment.
func bigRules() []Rule[int] {
	var rules []Rule[int]
	add := func(m Match) { rules = append(rules, Rule[int]{Matches: []Match{m}, Value: len(rules)}) }
	for i := 0; i < 12; i++ {
		host := fmt.Sprintf("h%d.example.com", i)
		for j := 0; j < 12; j++ {
			add(Match{Hosts: []string{host}, Path: PathMatch{Value: fmt.Sprintf("/s%d", j)}})
		}
		add(Match{Hosts: []string{host}, Path: PathMatch{Type: PathRegex, Value: `/api/v[0-9]+`}})
		add(Match{Hosts: []string{host}, Path: PathMatch{Type: PathRegex, Value: `/re`}})
		add(Match{Hosts: []string{host}, Path: PathMatch{Type: PathTemplate, Value: "/{x}/tail"}})
		add(Match{Hosts: []string{host}, Path: PathMatch{Type: PathTemplate, Value: "/s3/{x}"}})
		add(Match{Hosts: []string{host}, Path: PathMatch{Type: PathExact, Value: "/"}})
	}
	for j := 0; j < 12; j++ {
		add(Match{Path: PathMatch{Type: PathExact, Value: fmt.Sprintf("/s%d/x", j)}, Methods: []string{"GET"}})
	}
	add(Match{Hosts: []string{"*.example.com"}, Path: PathMatch{Type: PathRegex, Value: `/(a|b)/.*`}})
	add(Match{Path: PathMatch{Type: PathRegex, Value: `.*`}})
	return rules
}

// TestIndexedAgreesWithLinear: the first-segment index and the hashed host
// map are pure speed-ups; they must pick what the linear walk and the
// reference pick.
func TestIndexedAgreesWithLinear(t *testing.T) {
	rules := bigRules()
	def, err := New(rules)
	if err != nil {
		t.Fatal(err)
	}
	if def.t.exactMap == nil || def.t.exactMap["h0.example.com"].segMap == nil {
		t.Fatal("test setup: expected hashed host map and segment index")
	}
	linear, _ := newRouter(rules, 1<<30)
	indexed, _ := newRouter(rules, 1)
	hosts := []string{"h3.example.com", "H3.Example.COM:80", "h11.example.com.", "x.example.com", "nope", "H99.EXAMPLE.COM",
		strings.Repeat("A", 300) + ".example.com"} // longer than any DNS name: no stack buffer overflow
	paths := []string{"/", "/s3", "/s3/x", "/s3/y", "/s11/x/y", "/api/v2", "/api/vx", "/re", "/re/", "/q/tail", "/a/b", "/zzz", "/s1/tail", "re", ""}
	for _, h := range hosts {
		for _, p := range paths {
			want, wantParams, wantOK := refMatch(rules, h, "GET", p, http.Header{}, "")
			for name, r := range map[string]*Router[int]{"default": def, "linear": linear, "indexed": indexed} {
				var params Params
				got, ok := r.Match(h, "GET", p, nil, "", &params)
				if got != want || ok != wantOK || !slices.Equal(paramsList(&params), wantParams) {
					t.Errorf("%s: Match(%q, %q) = %d, %v, %q; reference %d, %v, %q", name, h, p, got, ok, paramsList(&params), want, wantOK, wantParams)
				}
			}
		}
	}
	// Spot-check the upper-case host really reached its exact bucket.
	if got, _ := def.Match("H3.Example.COM:80", "GET", "/s5", nil, "", nil); got != 3*17+5 {
		t.Errorf("upper-case host through the hashed map: got rule %d", got)
	}
}

// TestFirstSegmentKeys: which paths fix their first segment decides how much
// of a bucket the index can skip; a wrong key would hide a route.
func TestFirstSegmentKeys(t *testing.T) {
	tests := []struct {
		p   PathMatch
		key string
		has bool
	}{
		{PathMatch{Value: "/"}, "", false},
		{PathMatch{Value: "/v1"}, "v1", true},
		{PathMatch{Value: "/v1/users/"}, "v1", true},
		{PathMatch{Type: PathExact, Value: "/"}, "", true},
		{PathMatch{Type: PathExact, Value: "/%61pi/x"}, "api", true},
		{PathMatch{Type: PathTemplate, Value: "/v1/{id}"}, "v1", true},
		{PathMatch{Type: PathTemplate, Value: "/{id}/x"}, "", false},
		{PathMatch{Type: PathTemplate, Value: "/"}, "", true},
		{PathMatch{Type: PathRegex, Value: `/api/v[0-9]+`}, "api", true},
		{PathMatch{Type: PathRegex, Value: `/re`}, "re", true},       // whole match is literal
		{PathMatch{Type: PathRegex, Value: `/re.*`}, "", false},      // "/rex" is possible
		{PathMatch{Type: PathRegex, Value: `/a|/b`}, "", false},      // no common first segment
		{PathMatch{Type: PathRegex, Value: `(?i)/api/x`}, "", false}, // case-folded: no literal
	}
	for _, tt := range tests {
		m, err := compilePath(tt.p)
		if err != nil {
			t.Fatalf("%+v: %v", tt.p, err)
		}
		if m.firstSeg != tt.key || m.hasFirstSeg != tt.has {
			t.Errorf("%+v: key %q, %v; want %q, %v", tt.p, m.firstSeg, m.hasFirstSeg, tt.key, tt.has)
		}
	}
}
