package waf

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"weak"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"golang.org/x/sync/singleflight"
)

// engine is a loaded rule set, shared by every WAF built from the same
// directives. It is immutable and safe for concurrent use.
type engine struct {
	waf coraza.WAF
}

// engineCache maps directives to loaded engines. Entries are weak so an
// engine lives exactly as long as some WAF holds it.
var engineCache = struct {
	mu      sync.Mutex
	engines map[string]weak.Pointer[engine]
	// loads lets callers asking for the same directives while they load
	// wait for that load instead of parsing the CRS again.
	loads singleflight.Group
}{
	engines: make(map[string]weak.Pointer[engine]),
}

// cachedEngine returns the live engine for directives, or nil.
func cachedEngine(directives string) *engine {
	c := &engineCache
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.engines[directives].Value()
}

// loadEngine returns the engine for directives, loading it at most once
// while it is in use. Different directives load concurrently.
func loadEngine(directives string) (*engine, error) {
	if e := cachedEngine(directives); e != nil {
		return e, nil
	}
	v, err, _ := engineCache.loads.Do(directives, func() (any, error) {
		// A load that finished since the check above left its engine.
		if e := cachedEngine(directives); e != nil {
			return e, nil
		}
		e, err := buildEngine(directives)
		if err != nil {
			return nil, err
		}
		c := &engineCache
		c.mu.Lock()
		c.engines[directives] = weak.Make(e)
		c.mu.Unlock()
		runtime.AddCleanup(e, releaseEngine, engineRelease{key: directives, waf: e.waf})
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*engine), nil
}

// engineRelease is what the cleanup of a collected engine needs; it must
// not reference the engine itself, or the engine would never be collected.
type engineRelease struct {
	key string
	waf coraza.WAF
}

// releaseEngine runs after an engine became unreachable: it drops the
// cache entry (unless a newer engine took the key) and releases Coraza's
// process-wide memoized regexps owned by the rule set.
func releaseEngine(r engineRelease) {
	c := &engineCache
	c.mu.Lock()
	if wp, ok := c.engines[r.key]; ok && wp.Value() == nil {
		delete(c.engines, r.key)
	}
	c.mu.Unlock()
	if cl, ok := r.waf.(interface{ Close() error }); ok {
		cl.Close()
	}
}

// cachedEngines reports how many engines the cache holds, for tests.
func cachedEngines() int {
	c := &engineCache
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.engines)
}

// buildEngine parses directives with the embedded CRS as root filesystem.
func buildEngine(directives string) (*engine, error) {
	w, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(directives))
	if err != nil {
		return nil, fmt.Errorf("waf: loading rules: %s", strings.TrimSpace(err.Error()))
	}
	return &engine{waf: w}, nil
}
