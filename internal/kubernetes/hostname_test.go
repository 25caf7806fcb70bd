package kubernetes

import (
	"slices"
	"testing"
)

// TestIntersect follows the Gateway API hostname rules between a
// listener's hostname and a route's hostnames.
func TestIntersect(t *testing.T) {
	tests := []struct {
		listener string
		route    []string
		want     []string
		ok       bool
	}{
		{"", nil, nil, true},
		{"", []string{"a.example.com"}, []string{"a.example.com"}, true},
		{"a.example.com", nil, []string{"a.example.com"}, true},
		{"*.example.com", []string{"a.example.com", "example.com", "a.other.org"}, []string{"a.example.com"}, true},
		{"*.example.com", []string{"x.y.example.com"}, []string{"x.y.example.com"}, true},
		{"*.example.com", []string{"*.a.example.com"}, []string{"*.a.example.com"}, true},
		{"a.example.com", []string{"*.example.com"}, []string{"a.example.com"}, true},
		{"*.a.example.com", []string{"*.example.com"}, []string{"*.a.example.com"}, true},
		{"a.example.com", []string{"b.example.com"}, nil, false},
		{"*.example.com", []string{"example.com"}, nil, false},
	}
	for _, tc := range tests {
		got, ok := intersect(tc.listener, tc.route)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("intersect(%q, %v) = %v, %v; want %v, %v", tc.listener, tc.route, got, ok, tc.want, tc.ok)
		}
	}
}
