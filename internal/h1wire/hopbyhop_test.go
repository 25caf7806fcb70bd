package h1wire

import (
	"net/http"
	"slices"
	"testing"
)

func TestStripConnectionListed(t *testing.T) {
	h := http.Header{
		"Connection": {"keep-alive, X-Secret", "upgrade , x-other"},
		"X-Secret":   {"1"}, "X-Other": {"2"}, "X-Kept": {"3"}, "Upgrade": {"websocket"},
	}
	if got := ConnectionListed(h); !slices.Equal(got, []string{"Keep-Alive", "X-Secret", "Upgrade", "X-Other"}) {
		t.Errorf("ConnectionListed = %q", got)
	}
	StripConnectionListed(h)
	if h.Get("X-Secret") != "" || h.Get("X-Other") != "" || h.Get("X-Kept") != "3" || h.Get("Upgrade") != "websocket" {
		t.Errorf("after strip: %v", h)
	}
	if got := h["Connection"]; len(got) != 1 || got[0] != "keep-alive, upgrade" {
		t.Errorf("Connection = %q", got)
	}
	RemoveHopByHop(h)
	if len(h) != 1 || h.Get("X-Kept") != "3" {
		t.Errorf("after RemoveHopByHop: %v", h)
	}
	if !IsHopByHop("Transfer-Encoding") || IsHopByHop("X-Kept") {
		t.Error("IsHopByHop")
	}
}

func TestStripConnectionListedNoAllocWithoutListedNames(t *testing.T) {
	h := http.Header{"Connection": {"keep-alive"}}
	if n := testing.AllocsPerRun(100, func() { StripConnectionListed(h) }); n != 0 {
		t.Errorf("%v allocs", n)
	}
}
