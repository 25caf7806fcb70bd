package pathparams

import "testing"

func TestParamsOutOfRangeAndReset(t *testing.T) {
	var p Params
	if n, v := p.At(0); n != "" || v != "" {
		t.Fatal("At on empty Params")
	}
	if n, v := p.At(-1); n != "" || v != "" {
		t.Fatal("At(-1)")
	}
	p.Add("a", "1")
	if _, ok := p.Get("b"); ok {
		t.Fatal("Get of missing name")
	}
	p.Reset()
	if p.Len() != 0 || p.names[0] != "" || p.values[0] != "" {
		t.Fatal("Reset must clear and release strings")
	}
	for i := 0; i < Max+2; i++ {
		p.Add("x", "y") // never panics past capacity
	}
	if p.Len() != Max {
		t.Fatalf("Len = %d", p.Len())
	}
}
