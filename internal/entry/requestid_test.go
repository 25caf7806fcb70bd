package entry

import "testing"

func TestRequestID(t *testing.T) {
	a, b := newRequestID(), newRequestID()
	if len(a) != 36 || a == b || a[14] != '4' {
		t.Fatalf("ids %q %q", a, b)
	}
	for s, ok := range map[string]bool{"abc-123": true, "": false, "a b": false, "x\"y": false, string(make([]byte, 129)): false} {
		if validRequestID(s) != ok {
			t.Errorf("validRequestID(%q) != %v", s, ok)
		}
	}
}
