package balancer

import (
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

const hashKeys = 100000

var keyHashes = func() []uint64 {
	hs := make([]uint64, hashKeys)
	for i := range hs {
		hs[i] = xxhash.Sum64String(fmt.Sprintf("user-%d", i))
	}
	return hs
}()

func mustHash(t testing.TB, ts []*Target, o Options) *Hash {
	t.Helper()
	b, err := NewHash(ts, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assign maps every test key to its target's Addr.
func assign(b *Hash) []string {
	out := make([]string, len(keyHashes))
	for i, h := range keyHashes {
		if t := b.lookup(h, nil); t != nil {
			out[i] = t.Addr
		}
	}
	return out
}

func TestHashRemovingTargetMovesOnlyItsShare(t *testing.T) {
	const n = 10
	ts := targets(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	before := assign(mustHash(t, ts, Options{}))
	removed := ts[3].Addr
	after := assign(mustHash(t, append(append([]*Target{}, ts[:3]...), ts[4:]...), Options{}))
	moved, others := 0, 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			if before[i] != removed {
				others++
			}
		}
	}
	t.Logf("removing 1 of %d moved %.2f%% of keys (%d of another target's)", n, 100*float64(moved)/hashKeys, others)
	if frac := float64(moved) / hashKeys; frac > 1.5/n {
		t.Fatalf("moved %.1f%% of keys, want < %.1f%%", 100*frac, 150.0/n)
	}
	// Maglev is not perfectly minimal, but the paper's bound is a few
	// percent of the table; with 100× slots per target it is far less.
	if frac := float64(others) / hashKeys; frac > 0.02 {
		t.Fatalf("%.2f%% of keys of kept targets moved", 100*frac)
	}
}

func TestHashAddingTargetMovesItsShare(t *testing.T) {
	const n = 10
	ts := targets(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	before := assign(mustHash(t, ts[:n], Options{}))
	after := assign(mustHash(t, ts, Options{}))
	moved, toNew := 0, 0
	for i := range before {
		if before[i] != after[i] {
			moved++
			if after[i] == ts[n].Addr {
				toNew++
			}
		}
	}
	frac := float64(moved) / hashKeys
	t.Logf("adding an 11th target moved %.2f%% of keys, %d%% of them to it", 100*frac, 100*toNew/moved)
	if frac > 1.5/(n+1) || frac < 0.5/(n+1) {
		t.Fatalf("moved %.1f%% of keys, want ≈ %.1f%%", 100*frac, 100.0/(n+1))
	}
	if float64(toNew) < 0.95*float64(moved) {
		t.Fatalf("only %d of %d moved keys went to the new target", toNew, moved)
	}
}

// A down (or skipped) target's keys walk to the next slot's owner: keys of
// other targets stay put, the displaced keys spread over the survivors, and
// each key's fallback is stable.
func TestHashUnavailableTargetMovesOnlyItsKeys(t *testing.T) {
	ts := targets(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	b := mustHash(t, ts, Options{})
	before := assign(b)
	ts[3].SetDown(true)
	after := assign(b)
	spread := map[string]int{}
	moved := 0
	for i := range before {
		if before[i] == after[i] {
			continue
		}
		if before[i] != ts[3].Addr {
			t.Fatalf("key %d moved from healthy %s to %s", i, before[i], after[i])
		}
		moved++
		spread[after[i]]++
	}
	for addr, c := range spread {
		if float64(c) > 0.25*float64(moved) {
			t.Fatalf("%s took %d of %d displaced keys: not spread (%v)", addr, c, moved, spread)
		}
	}
	if again := assign(b); strings.Join(again, ",") != strings.Join(after, ",") {
		t.Fatal("fallback targets are not stable")
	}
	ts[3].SetDown(false)
	// skip behaves like down for that one pick, deterministically.
	for i, h := range keyHashes[:1000] {
		if before[i] != ts[5].Addr {
			continue
		}
		first := b.lookup(h, ts[5])
		if first == ts[5] || first == nil || b.lookup(h, ts[5]) != first {
			t.Fatalf("key %d: skip gave %v then a different target", i, first)
		}
	}
}

func TestHashWeights(t *testing.T) {
	ws := []int{1, 2, 3, 4, 0}
	ts := targets(ws...)
	b := mustHash(t, ts, Options{})
	slots := make([]int, len(ts))
	for _, e := range b.table {
		slots[e]++
	}
	for i, w := range ws {
		if got, want := float64(slots[i])/float64(len(b.table)), float64(w)/10; math.Abs(got-want) > 0.001 {
			t.Errorf("target %d (weight %d) owns %.4f of the table, want %.4f", i, w, got, want)
		}
	}
	counts := make([]int, len(ts)+1)
	for _, h := range keyHashes {
		for i, x := range ts {
			if b.lookup(h, nil) == x {
				counts[i]++
			}
		}
	}
	checkShares(t, counts, []float64{1, 2, 3, 4, 0}, hashKeys)
}

func TestMaglevTableSize(t *testing.T) {
	if m := maglevTableSize(10); m != 65537 {
		t.Fatalf("size for 10 targets: %d", m)
	}
	m := maglevTableSize(1000)
	if m < 100000 || !isPrime(m) {
		t.Fatalf("size for 1000 targets: %d, want a prime ≥ 100000", m)
	}
	if isPrime(65535) || !isPrime(65537) || isPrime(1) {
		t.Fatal("isPrime")
	}
}

func TestHashMissingKeyFallback(t *testing.T) {
	ts := targets(1, 1, 1)
	b := mustHash(t, ts, Options{HashOn: HashOnHeader, HashKey: "X-User", HashFallback: "round_robin"})
	if got := sequence(b, ts, 6); got != "abcabc" { // nil request
		t.Fatalf("nil request: got %s", got)
	}
	r := httptestRequest("/")
	r.Header.Set("X-User", "")
	var sb strings.Builder
	for range 6 {
		sb.WriteString(b.Pick(r, nil).Addr[len("127.0.0.1:900"):])
	}
	if got := sb.String(); got != "012012" {
		t.Fatalf("empty header: got %s, want the round-robin fallback", got)
	}
	// Default fallback is weighted random.
	rnd := mustHash(t, ts, Options{HashOn: HashOnCookie, HashKey: "sid"})
	if _, ok := rnd.fallback.(*Random); !ok {
		t.Fatalf("default fallback is %T", rnd.fallback)
	}
	checkShares(t, pickCounts(rnd, ts, nil, 6000), []float64{1, 1, 1}, 6000)
}

func TestHashAllDown(t *testing.T) {
	ts := targets(make([]int, 100)...)
	for _, x := range ts {
		x.Weight = 1
		x.SetDown(true)
	}
	b := mustHash(t, ts, Options{})
	if b.lookup(42, nil) != nil {
		t.Fatal("picked with every target down")
	}
	// One survivor among 100: the walk gives up and the scan finds it,
	// for every key.
	ts[57].SetDown(false)
	for _, h := range keyHashes[:2000] {
		if got := b.lookup(h, nil); got != ts[57] {
			t.Fatalf("key %x: got %v, want the only survivor", h, got)
		}
	}
	if b.lookup(7, ts[57]) != nil {
		t.Fatal("picked the skipped survivor")
	}
	if mustHash(t, nil, Options{}).Pick(nil, nil) != nil || mustHash(t, targets(0, 0), Options{}).Pick(nil, nil) != nil {
		t.Fatal("picked from an empty or weightless pool")
	}
}

func httptestRequest(target string) *http.Request {
	u, _ := url.ParseRequestURI(target)
	return &http.Request{Method: "GET", URL: u, Header: http.Header{}, Host: "example.com", RemoteAddr: "192.0.2.1:1234"}
}

// keyOf returns b's key hash for r, failing the test if there is none.
func keyOf(t *testing.T, b *Hash, r *http.Request) uint64 {
	t.Helper()
	h, ok := b.key(r)
	if !ok {
		t.Fatalf("no key in %s %v", r.URL, r.Header)
	}
	return h
}

func TestHashKeyClientIP(t *testing.T) {
	b := mustHash(t, targets(1, 1), Options{})
	peer := httptestRequest("/")
	peer.RemoteAddr = "203.0.113.9:5555"
	viaInfo := httptestRequest("/")
	viaInfo.RemoteAddr = "10.0.0.1:80" // a trusted proxy; the listener resolved the client
	viaInfo = viaInfo.WithContext(reqinfo.NewContext(viaInfo.Context(), &reqinfo.Info{ClientIP: netip.MustParseAddr("203.0.113.9")}))
	if keyOf(t, b, peer) != keyOf(t, b, viaInfo) {
		t.Fatal("reqinfo ClientIP and RemoteAddr of one client hash differently")
	}
	otherPort := httptestRequest("/")
	otherPort.RemoteAddr = "203.0.113.9:6000"
	mapped := httptestRequest("/")
	mapped.RemoteAddr = "[::ffff:203.0.113.9]:7000"
	if keyOf(t, b, peer) != keyOf(t, b, otherPort) || keyOf(t, b, peer) != keyOf(t, b, mapped) {
		t.Fatal("one client hashes differently by port or IPv4-mapped form")
	}
	other := httptestRequest("/")
	other.RemoteAddr = "203.0.113.10:5555"
	if keyOf(t, b, peer) == keyOf(t, b, other) {
		t.Fatal("two clients hash alike")
	}
	noPeer := httptestRequest("/")
	noPeer.RemoteAddr = ""
	if _, ok := b.key(noPeer); ok {
		t.Fatal("key without any client address")
	}
	sock := httptestRequest("/")
	sock.RemoteAddr = "@"
	keyOf(t, b, sock)
}

func TestHashKeyHeader(t *testing.T) {
	b := mustHash(t, targets(1, 1), Options{HashOn: HashOnHeader, HashKey: "x-user-id"})
	r := httptestRequest("/")
	r.Header.Set("X-User-Id", "alice")
	if keyOf(t, b, r) != xxhash.Sum64String("alice") {
		t.Fatal("header value not the key (config name must be case-insensitive)")
	}
	host := mustHash(t, targets(1, 1), Options{HashOn: HashOnHeader, HashKey: "host"})
	if keyOf(t, host, r) != xxhash.Sum64String("example.com") {
		t.Fatal("Host header (r.Host) not the key")
	}
}

func TestHashKeyCookie(t *testing.T) {
	b := mustHash(t, targets(1, 1), Options{HashOn: HashOnCookie, HashKey: "sid"})
	for _, lines := range [][]string{
		{"sid=abc"},
		{"a=1; sid=abc; b=2"},
		{"a=1;sid=abc"},
		{`sid="abc"`},
		{"theme=dark", "x=1; sid=abc"},
		{"xsid=no; sid=; sid=abc"},
	} {
		r := httptestRequest("/")
		r.Header["Cookie"] = lines
		if h, ok := b.key(r); !ok || h != xxhash.Sum64String("abc") {
			t.Errorf("Cookie %q: key not abc", lines)
		}
	}
	r := httptestRequest("/")
	r.Header["Cookie"] = []string{"xsid=abc; sidx=abc; sid"}
	if _, ok := b.key(r); ok {
		t.Error("matched a cookie of another name")
	}
}

func TestHashKeyQuery(t *testing.T) {
	b := mustHash(t, targets(1, 1), Options{HashOn: HashOnQuery, HashKey: "user id"})
	want := xxhash.Sum64String("a b")
	for _, q := range []string{"user+id=a+b", "x=1&user%20id=a%20b", "user%20id=&user+id=a+b"} {
		if h, ok := b.key(httptestRequest("/p?" + q)); !ok || h != want {
			t.Errorf("?%s: key not \"a b\"", q)
		}
	}
	for _, q := range []string{"", "user=a", "userXid=a", "user%2=a", "user+id="} {
		if _, ok := b.key(httptestRequest("/p?" + q)); ok {
			t.Errorf("?%s: found a key", q)
		}
	}
	if h, ok := b.key(httptestRequest("/p?user+id=a%zz")); !ok || h != xxhash.Sum64String("a%zz") {
		t.Error("badly escaped value not hashed as sent")
	}
}

func TestHashOptionErrors(t *testing.T) {
	for _, o := range []Options{
		{HashOn: "ip"},
		{HashOn: HashOnHeader},
		{HashOn: HashOnCookie},
		{HashOn: HashOnQuery},
		{HashFallback: "hash"},
		{HashFallback: "nope"},
	} {
		if _, err := NewWithOptions("hash", targets(1), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := NewHash(make([]*Target, maglevMaxTargets+1), Options{}); err == nil {
		t.Error("more targets than the table can name accepted")
	}
}

// Pick runs on every request: keying and lookup must not allocate.
func TestPickDoesNotAllocate(t *testing.T) {
	ts := targets(1, 2, 3, 4)
	for _, x := range ts {
		x.Observe(1e6, false)
	}
	r := httptestRequest("/p?a=1&sid=a%20b")
	r.Header.Set("X-User", "alice")
	r.Header.Set("Cookie", "a=1; sid=abc")
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{ClientIP: netip.MustParseAddr("2001:db8::1")}))
	peer := httptestRequest("/")
	cases := map[string]struct {
		b Balancer
		r *http.Request
	}{
		"random":        {NewRandom(ts), nil},
		"least_request": {NewLeastRequest(ts), nil},
		"p2c_ewma":      {NewP2CEWMA(ts), nil},
		"client_ip":     {mustHash(t, ts, Options{}), r},
		"remote_addr":   {mustHash(t, ts, Options{}), peer},
		"header":        {mustHash(t, ts, Options{HashOn: HashOnHeader, HashKey: "x-user"}), r},
		"cookie":        {mustHash(t, ts, Options{HashOn: HashOnCookie, HashKey: "sid"}), r},
		"query":         {mustHash(t, ts, Options{HashOn: HashOnQuery, HashKey: "sid"}), r},
	}
	for name, c := range cases {
		if a := testing.AllocsPerRun(100, func() { c.b.Pick(c.r, ts[0]) }); a != 0 {
			t.Errorf("%s: %v allocs per Pick", name, a)
		}
	}
}
