package router

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// bigRules has more exact hosts and first segments than smallMapMax, so the
// hashed host map (with upper-case folding) and the hashed segment index are
// used, plus regexes whose literal prefix fixes the first segment.
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
	hosts := []string{"h3.example.com", "H3.Example.COM:80", "h11.example.com.", "x.example.com", "nope", "H99.EXAMPLE.COM"}
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
