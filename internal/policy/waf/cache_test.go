package waf

import (
	"runtime"
	"testing"
)

// An engine no WAF uses any more is dropped from the cache.
func TestEngineCacheReleasesUnusedEngines(t *testing.T) {
	cfg, err := Config{Directives: "# cache release test"}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	key := cfg.directives()
	w, err := New(Config{Directives: "# cache release test"})
	if err != nil {
		t.Fatal(err)
	}
	present := func() bool {
		engineCache.mu.Lock()
		defer engineCache.mu.Unlock()
		_, ok := engineCache.engines[key]
		return ok
	}
	if !present() {
		t.Fatal("engine not cached")
	}
	runtime.KeepAlive(w)
	w = nil
	// Cleanups run on their own goroutine after the collection.
	for i := 0; present(); i++ {
		if i == 1000 {
			t.Fatal("unused engine still cached")
		}
		runtime.GC()
		runtime.Gosched()
	}
}
