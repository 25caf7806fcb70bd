package balancer

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// BenchmarkPick measures every algorithm's Pick from all cores at once, on
// pools of 4 and 32 targets with mixed weights, no target down.
//
//	go test -run '^$' -bench BenchmarkPick -benchmem ./internal/balancer/
func BenchmarkPick(b *testing.B) {
	r := httptestRequest("/v1/users?id=42")
	r.Header.Set("X-User", "alice")
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{ClientIP: netip.MustParseAddr("203.0.113.9")}))
	cases := []struct {
		name string
		algo string
		o    Options
		r    *http.Request
	}{
		{"round_robin", "round_robin", Options{}, nil},
		{"weighted_round_robin", "weighted_round_robin", Options{}, nil},
		{"least_request", "least_request", Options{}, nil},
		{"random", "random", Options{}, nil},
		{"p2c_ewma", "p2c_ewma", Options{}, nil},
		{"hash_client_ip", "hash", Options{}, r},
		{"hash_header", "hash", Options{HashOn: HashOnHeader, HashKey: "X-User"}, r},
		{"hash_cookie_missing", "hash", Options{HashOn: HashOnCookie, HashKey: "sid"}, r},
	}
	for _, c := range cases {
		for _, n := range []int{4, 32} {
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				ws := make([]int, n)
				for i := range ws {
					ws[i] = 1 + i%3
				}
				ts := targets(ws...)
				for i, t := range ts {
					t.Observe(time.Duration(5+i)*time.Millisecond, false)
				}
				bal, err := NewWithOptions(c.algo, ts, c.o)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if bal.Pick(c.r, nil) == nil {
							b.Fatal("nil pick")
						}
					}
				})
			})
		}
	}
}

// BenchmarkMaglevBuild is the reload-time cost of the hash algorithm: the
// table is rebuilt whenever a pool is updated.
func BenchmarkMaglevBuild(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ws := make([]int, n)
			for i := range ws {
				ws[i] = 1 + i%3
			}
			ts := targets(ws...)
			b.ReportAllocs()
			for b.Loop() {
				buildMaglev(ts)
			}
		})
	}
}
