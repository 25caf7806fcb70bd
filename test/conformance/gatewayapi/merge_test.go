package gatewayapi

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// TestMergeStatuses: a route's parent sections reach the merged result
// from the translation of the Gateway they name (with or without section
// and port), never from another Gateway's; Gateways keep their own.
func TestMergeStatuses(t *testing.T) {
	st := func(kind, name, section, reason string) kubernetes.Status {
		return kubernetes.Status{Kind: kind, Namespace: "ns", Name: name, Section: section,
			Conditions: []kubernetes.Condition{{Type: "Accepted", Status: "True", Reason: reason}}}
	}
	fromA := &kubernetes.Result{Statuses: []kubernetes.Status{
		st("Gateway", "a", "", "a"), st("Gateway", "b", "", "a"),
		st("HTTPRoute", "r", "Gateway ns/a", "a"), st("HTTPRoute", "r", "Gateway ns/a/http:80", "a"),
		st("HTTPRoute", "r", "Gateway ns/b:81", "a"), st("HTTPRoute", "r", "", "a"),
	}}
	fromB := &kubernetes.Result{Statuses: []kubernetes.Status{
		st("Gateway", "b", "", "b"), st("HTTPRoute", "r", "Gateway ns/b:81", "b"), st("HTTPRoute", "r", "", "b"),
	}}
	merged := &kubernetes.Result{}
	mergeStatuses(merged, fromA, "ns/a")
	mergeStatuses(merged, fromB, "ns/b")
	for _, c := range []struct{ kind, name, section, reason string }{
		{"Gateway", "a", "", "a"}, {"Gateway", "b", "", "b"},
		{"HTTPRoute", "r", "Gateway ns/a", "a"}, {"HTTPRoute", "r", "Gateway ns/a/http:80", "a"},
		{"HTTPRoute", "r", "Gateway ns/b:81", "b"}, {"HTTPRoute", "r", "", "a"},
	} {
		s, ok := merged.Find(c.kind, "ns", c.name, c.section)
		if !ok || s.Conditions[0].Reason != c.reason {
			t.Errorf("%s %s [%s]: %v %v, want reason %s", c.kind, c.name, c.section, s, ok, c.reason)
		}
	}
	if len(merged.Statuses) != 6 {
		t.Errorf("merged %d statuses, want 6: %v", len(merged.Statuses), merged.Statuses)
	}
}
