package router

import "testing"

// TestPrefixReplacer is the table of HTTPPathModifier.ReplacePrefixMatch
// (gateway-api v1.6.3 apis/v1/httproute_types.go) plus the cases of the
// conformance tests httproute-rewrite-path and httproute-redirect-path.
func TestPrefixReplacer(t *testing.T) {
	cases := []struct {
		path, prefix, to, want string
	}{
		{"/foo/bar", "/foo", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo", "/xyz/", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz", "/xyz/bar"},
		{"/foo/bar", "/foo/", "/xyz/", "/xyz/bar"},
		{"/foo", "/foo", "/xyz", "/xyz"},
		{"/foo/", "/foo", "/xyz", "/xyz/"},
		{"/foo/bar", "/foo", "", "/bar"},
		{"/foo/", "/foo", "", "/"},
		{"/foo", "/foo", "", "/"},
		{"/foo/", "/foo", "/", "/"},
		{"/foo", "/foo", "/", "/"},
		// Conformance.
		{"/prefix/one/two", "/prefix/one", "/one", "/one/two"},
		{"/strip-prefix/three", "/strip-prefix", "/", "/three"},
		{"/strip-prefix", "/strip-prefix", "/", "/"},
		{"/original-prefix/lemon", "/original-prefix", "/replacement-prefix", "/replacement-prefix/lemon"},
		{"/path-and-host", "/path-and-host", "/replacement-prefix", "/replacement-prefix"},
		// The root prefix matches everything and keeps the whole path.
		{"/a/b", "/", "/v2", "/v2/a/b"},
		{"/", "/", "/v2", "/v2/"},
		// Segment boundary: no match, no change.
		{"/foobar", "/foo", "/xyz", "/foobar"},
	}
	for _, c := range cases {
		if got := NewPrefixReplacer([]string{c.prefix}, c.to).Replace(c.path); got != c.want {
			t.Errorf("%s with prefix %q → %q: got %q, want %q", c.path, c.prefix, c.to, got, c.want)
		}
	}
	// The longest matching prefix wins whatever the order given.
	if got := NewPrefixReplacer([]string{"/a", "/a/b"}, "/z").Replace("/a/b/c"); got != "/z/c" {
		t.Errorf("longest prefix: got %q", got)
	}
}
