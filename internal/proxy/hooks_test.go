package proxy

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// The attempt hook (outlier detection listens to it) hears failures, 5xx
// included, and successes.
func TestOnAttemptReportsOutcome(t *testing.T) {
	status := 200
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	var mu sync.Mutex
	var got []bool
	fr := front(t, Options{Pool: newPool(t, up.URL), Transport: testTransport(t), OnAttempt: func(_ *balancer.Target, failed bool) {
		mu.Lock()
		got = append(got, failed)
		mu.Unlock()
	}})
	for _, s := range []int{200, 503, 404} {
		status = s
		resp, err := http.Get(fr.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0] || !got[1] || got[2] {
		t.Fatalf("attempt outcomes %v, want [false true false] (only the 5xx failed)", got)
	}
}

// A sticky pool's cookie is set on the proxied response.
func TestStickyCookieSet(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	u, _ := url.Parse(up.URL)
	p := balancer.NewPool("sticky")
	if _, err := p.UpdateWithOptions("round_robin", []*balancer.Target{balancer.NewTarget(u, 1)},
		balancer.Options{Sticky: &balancer.StickyConfig{Cookie: "pin", Key: []byte("0123456789abcdef0123456789abcdef")}}); err != nil {
		t.Fatal(err)
	}
	fr := front(t, Options{Pool: p, Transport: testTransport(t)})
	resp, err := http.Get(fr.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(c, "pin=") {
		t.Fatalf("Set-Cookie %q, want pin=...", c)
	}
	req, _ := http.NewRequest("GET", fr.URL, nil)
	req.Header.Set("Cookie", strings.SplitN(c, ";", 2)[0])
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if again := resp.Header.Get("Set-Cookie"); again != "" {
		t.Fatalf("pinned request got a new cookie %q", again)
	}
}
