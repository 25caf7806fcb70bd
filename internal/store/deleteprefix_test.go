package store

import (
	"testing"
	"time"
)

// TestDeletePrefixSparesShorterKey: DeletePrefix("k:") must not touch
// key "k", whose Redis keys ("<p>k:v", "<p>k:q", …) match the glob
// "<p>k:*" because of the suffix. Memory never did; Redis did before
// ownedByPrefix.
func TestDeletePrefixSparesShorterKey(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, h harness) {
		g := Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 1}
		w := Limit{Algorithm: SlidingWindow, Rate: 1, Period: time.Minute}
		for _, k := range []string{"k", "k:"} { // "k:" + ":v" is "k::v"
			setValue(t, h.s, k, "keep", 0)
			consume(t, h.s, k, 1, 5, time.Time{})
			allow(t, h.s, k, g, 1)
			allow(t, h.s, k, w, 1)
		}
		setValue(t, h.s, "k:1", "x", 0)
		consume(t, h.s, "k:2", 1, 5, time.Time{})
		// "k:" itself starts with "k:": its 4 keys go with k:1 and k:2.
		n, err := h.s.DeletePrefix(t.Context(), "k:")
		if err != nil || n != 6 {
			t.Fatalf("DeletePrefix(k:) = %d, %v, want 6", n, err)
		}
		if v, ok := getValue(t, h.s, "k"); !ok || string(v) != "keep" {
			t.Fatalf(`value "k" = %q, %v: deleted with prefix "k:"`, v, ok)
		}
		if v := counterOf(t, h.s, "k"); v != 1 {
			t.Fatalf(`counter "k" = %d, want 1`, v)
		}
		if allow(t, h.s, "k", g, 1).Allowed || allow(t, h.s, "k", w, 1).Allowed {
			t.Fatal(`rate-limit state of "k" deleted with prefix "k:"`)
		}
		if _, ok := getValue(t, h.s, "k:"); ok {
			t.Fatal(`value "k:" survived`)
		}
		if _, ok := getValue(t, h.s, "k:1"); ok {
			t.Fatal(`value "k:1" survived`)
		}
	})
}

func TestOwnedByPrefix(t *testing.T) {
	for _, c := range []struct {
		key  string
		want bool
	}{
		{"p:a:v", false}, // caller's key "a", prefix "a:"
		{"p:a:q", false},
		{"p:a:g", false},
		{"p:a:w", false},
		{"p:a::v", true}, // caller's key "a:"
		{"p:a:1:v", true},
		{"p:a:x", true}, // not written by a Store: the glob decides
	} {
		if got := ownedByPrefix(c.key, "p:a:"); got != c.want {
			t.Errorf("ownedByPrefix(%q, p:a:) = %v, want %v", c.key, got, c.want)
		}
	}
}
