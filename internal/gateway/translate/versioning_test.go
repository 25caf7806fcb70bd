package translate

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/router"
)

// A match with version: becomes the alternatives of the versioning
// section (header, Accept, query) with the rest of the match kept; one
// without stays a single match; no section means the Api-Version header.
func TestRouterMatchesVersion(t *testing.T) {
	m := &config.Match{Path: &config.PathMatch{Prefix: "/items"}, Methods: []string{"GET"}, Version: "2"}
	vs := &config.Versioning{Header: "X-Api-Version", MediaType: "application/vnd.example", Query: "api-version"}
	ms := RouterMatches(m, vs)
	if len(ms) != 3 {
		t.Fatalf("%d matches, want 3: %+v", len(ms), ms)
	}
	for _, rm := range ms {
		if rm.Path != (router.PathMatch{Type: router.PathPrefix, Value: "/items"}) || len(rm.Methods) != 1 {
			t.Errorf("lost the match's own conditions: %+v", rm)
		}
	}
	r, err := router.New([]router.Rule[string]{
		{Matches: RouterMatches(&config.Match{Path: &config.PathMatch{Prefix: "/items"}}, vs), Value: "default"},
		{Matches: ms, Value: "v2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		header http.Header
		query  string
		want   string
	}{
		{http.Header{"X-Api-Version": {"2"}}, "", "v2"},
		{http.Header{"Api-Version": {"2"}}, "", "default"}, // the section renamed the header
		{http.Header{"Accept": {"application/vnd.example.v2+json"}}, "", "v2"},
		{nil, "api-version=2", "v2"},
		{nil, "", "default"},
	} {
		if got, _ := r.Match("example.com", "GET", "/items/1", c.header, c.query, nil); got != c.want {
			t.Errorf("%v ?%s: %q, want %q", c.header, c.query, got, c.want)
		}
	}
	if ms := RouterMatches(&config.Match{Version: "1"}, nil); len(ms) != 1 || ms[0].Headers[0] != (router.ValueMatch{Name: "Api-Version", Value: "1"}) {
		t.Errorf("no versioning section: %+v", ms)
	}
}

func TestDeprecationTranslate(t *testing.T) {
	c := Deprecation(&config.Deprecation{Since: "2026-01-01T00:00:00Z", Sunset: "2027-06-30T00:00:00+02:00", Link: "https://d.example/v2"})
	if c.Since.Unix() != 1767225600 || c.Sunset.Unix() != 1814306400 || c.Link != "https://d.example/v2" {
		t.Fatalf("%+v", c)
	}
	if c := Deprecation(&config.Deprecation{Since: "2026-01-01T00:00:00Z"}); !c.Sunset.IsZero() {
		t.Fatalf("sunset %v", c.Sunset)
	}
}
