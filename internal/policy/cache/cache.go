package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

const (
	// DefaultMemoryBytes bounds the in-memory backend New makes when
	// Config.Backend is nil (and the gateway's store.cache_max_bytes).
	DefaultMemoryBytes = 256 << 20
	defaultNamespace   = "cache:"
	// DefaultMaxBodyBytes is the largest body stored when
	// Config.MaxBodyBytes is 0.
	DefaultMaxBodyBytes = 1 << 20
	defaultTimeout      = 50 * time.Millisecond
	defaultKeep         = 24 * time.Hour
	defaultHeuristicMax = 24 * time.Hour
	// backgroundTimeout bounds a stale-while-revalidate refresh, which has
	// no client request to inherit a deadline from.
	backgroundTimeout = 30 * time.Second
)

// X-Cache values.
const (
	Hit         = "HIT"
	Miss        = "MISS"
	Stale       = "STALE"
	Bypass      = "BYPASS"
	Revalidated = "REVALIDATED"
)

// X-Cache header values shared by all responses, so setting the header
// does not allocate. Each has cap == len: an append elsewhere copies.
var (
	hitValue         = []string{Hit}
	missValue        = []string{Miss}
	staleValue       = []string{Stale}
	bypassValue      = []string{Bypass}
	revalidatedValue = []string{Revalidated}
)

// xCache returns the shared header value for an X-Cache label.
func xCache(label string) []string {
	switch label {
	case Hit:
		return hitValue
	case Miss:
		return missValue
	case Stale:
		return staleValue
	case Revalidated:
		return revalidatedValue
	}
	return bypassValue
}

// Config configures a Cache for one route.
type Config struct {
	// Backend holds the entries; nil means NewMemoryBackend(64 MiB).
	Backend Backend
	// Namespace prefixes every key, e.g. "cache:<route>:"; default "cache:".
	// Purges are prefix deletes under it.
	Namespace string
	// TTL is the freshness lifetime when the response gives none; 0 caches
	// only what the upstream marks cacheable (max-age, s-maxage, Expires).
	TTL time.Duration
	// OverrideTTL makes TTL win over the response's max-age, s-maxage,
	// Expires and no-cache. no-store, private and Set-Cookie still prevent
	// storing. Requires TTL > 0.
	OverrideTTL bool
	// StaleWhileRevalidate and StaleIfError are the default stale windows;
	// the response's own Cache-Control stale-while-revalidate and
	// stale-if-error override them.
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
	// Methods are the cached methods: GET, optionally HEAD (answered from
	// GET entries). Default GET, HEAD. Other methods are refused: their
	// responses depend on the body, which is not part of the key.
	Methods []string
	// Statuses are the cacheable statuses; default 200, 203, 204, 300,
	// 301, 308, 404, 405, 410, 414, 501 (heuristically cacheable, RFC 9110
	// §15.1, less 206).
	Statuses []int
	// KeyHeaders are request headers whose values are part of the key.
	KeyHeaders []string
	// KeyConsumer puts the authenticated consumer (Identity.Name()) in
	// the key, which also makes authenticated requests cacheable.
	KeyConsumer bool
	// CacheAuthenticated caches requests carrying Authorization or an
	// authenticated identity, shared between all of them. By default (and
	// without KeyConsumer) such requests bypass the cache.
	CacheAuthenticated bool
	// MaxBodyBytes bounds a stored body; larger responses are streamed
	// through uncached. Default 1 MiB.
	MaxBodyBytes int64
	// Timeout bounds each backend call; default 50ms. A failing backend
	// makes requests misses (logged once per outage), never errors.
	Timeout time.Duration
	// Logger receives backend failures; default slog.Default().
	Logger *slog.Logger

	// CacheControlField names a response field of the operator's own
	// that targets this cache (RFC 9213), e.g. "Gatehouse-Cache-Control".
	// It wins over CDN-Cache-Control, which wins over Cache-Control and
	// Expires, and it is removed from responses (see targeted.go). Empty:
	// only CDN-Cache-Control is a target.
	CacheControlField string
	// KeepForRevalidation is how long a stale entry that carries a
	// validator (ETag, Last-Modified) stays in the backend so that it can
	// be revalidated with a conditional request instead of fetched again.
	// The memory backend also evicts it earlier when its byte bound needs
	// room. Default 24h.
	KeepForRevalidation time.Duration
	// HeuristicPercent enables heuristic freshness (RFC 9111 §4.2.2): a
	// response with Last-Modified, a heuristically cacheable status and no
	// explicit freshness (and no TTL) is fresh for this percentage of the
	// time since it was last modified, at most HeuristicMax. 0 (default)
	// disables it.
	HeuristicPercent int
	// HeuristicMax caps the heuristic lifetime; default 24h.
	HeuristicMax time.Duration
	// ExplicitStatuses also stores responses of any other final status
	// (except 206 and 304) when they carry explicit freshness (max-age,
	// s-maxage, Expires or a targeted field), as RFC 9111 §3 allows.
	// Statuses stay the ones cacheable by TTL or heuristic. Default off.
	ExplicitStatuses bool
	// StoreAuthorized serves and stores requests carrying Authorization
	// (without an authenticated identity) when the response is marked
	// public, s-maxage or must-revalidate (RFC 9111 §3.5); such a request
	// is served only entries with one of those marks. Default off: such
	// requests bypass the cache.
	StoreAuthorized bool
	// VaryFoldCase compares the values of Vary'd request headers
	// case-insensitively (e.g. Accept-Language "EN" and "en" share a
	// variant). Whitespace around list commas and the split of a list
	// over several field lines never matter. Default off: values differ
	// by case as the origin may.
	VaryFoldCase bool
}

// Cache caches one route's responses.
type Cache struct {
	cfg            Config
	backend        Backend
	inProcess      bool // backend is the memory backend: no timeouts needed
	methods        map[string]bool
	statuses       map[int]bool
	keyHeaders     []string // canonical
	keyHeaderLower []string
	log            *slog.Logger

	flights flights

	refreshMu  sync.Mutex
	refreshing map[string]bool
	// bg tracks background refreshes (tests wait on it).
	bg sync.WaitGroup

	targets      []string // targeted cache-control fields, in order (canonical)
	ownField     string   // canonical CacheControlField, removed from responses
	heuristicMax time.Duration
	keep         time.Duration

	failing atomic.Bool // the backend is failing (logged once)
	now     func() time.Time
}

var defaultStatuses = []int{200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}

// New validates cfg and returns a Cache.
func New(cfg Config) (*Cache, error) {
	switch {
	case cfg.TTL < 0:
		return nil, errors.New("cache: ttl must not be negative")
	case cfg.OverrideTTL && cfg.TTL == 0:
		return nil, errors.New("cache: override_ttl needs a ttl")
	case cfg.StaleWhileRevalidate < 0 || cfg.StaleIfError < 0:
		return nil, errors.New("cache: stale windows must not be negative")
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("cache: max_body_bytes must not be negative")
	case cfg.Timeout < 0:
		return nil, errors.New("cache: timeout must not be negative")
	case cfg.KeepForRevalidation < 0 || cfg.HeuristicMax < 0:
		return nil, errors.New("cache: keep_for_revalidation and heuristic_max must not be negative")
	case cfg.HeuristicPercent < 0 || cfg.HeuristicPercent > 100:
		return nil, errors.New("cache: heuristic_percent must be between 0 and 100")
	case cfg.CacheControlField != "" && !h1wire.IsToken(cfg.CacheControlField):
		return nil, fmt.Errorf("cache: cache_control_field %q is not a valid header name", cfg.CacheControlField)
	}
	c := &Cache{cfg: cfg, methods: map[string]bool{}, statuses: map[int]bool{}, refreshing: map[string]bool{}, now: time.Now}
	if c.cfg.Namespace == "" {
		c.cfg.Namespace = defaultNamespace
	}
	if c.cfg.MaxBodyBytes == 0 {
		c.cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.cfg.Timeout == 0 {
		c.cfg.Timeout = defaultTimeout
	}
	c.keep = cmp.Or(cfg.KeepForRevalidation, defaultKeep)
	c.heuristicMax = cmp.Or(cfg.HeuristicMax, defaultHeuristicMax)
	if cfg.CacheControlField != "" {
		c.ownField = http.CanonicalHeaderKey(cfg.CacheControlField)
		switch c.ownField {
		case "Cache-Control", cdnCacheControl:
			return nil, fmt.Errorf("cache: cache_control_field must be a field of its own, not %s", cfg.CacheControlField)
		}
		c.targets = append(c.targets, c.ownField)
	}
	c.targets = append(c.targets, cdnCacheControl)
	c.backend = cfg.Backend
	if c.backend == nil {
		c.backend = NewMemoryBackend(DefaultMemoryBytes)
	}
	_, c.inProcess = c.backend.(*memoryBackend)
	c.log = cfg.Logger
	if c.log == nil {
		c.log = slog.Default()
	}
	methods := cfg.Methods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodHead}
	}
	for _, m := range methods {
		switch m = strings.ToUpper(m); m {
		case http.MethodGet, http.MethodHead:
			c.methods[m] = true
		default:
			return nil, fmt.Errorf("cache: method %q is not cacheable (only GET and HEAD: the body is not part of the key)", m)
		}
	}
	if !c.methods[http.MethodGet] {
		return nil, errors.New("cache: methods must include GET (HEAD is answered from GET entries)")
	}
	statuses := cfg.Statuses
	if len(statuses) == 0 {
		statuses = defaultStatuses
	}
	for _, s := range statuses {
		if s < 200 || s > 599 || s == http.StatusPartialContent || s == http.StatusNotModified {
			return nil, fmt.Errorf("cache: status %d is not cacheable", s)
		}
		c.statuses[s] = true
	}
	for _, h := range cfg.KeyHeaders {
		if !h1wire.IsToken(h) {
			return nil, fmt.Errorf("cache: key header %q is not a valid header name", h)
		}
		k := http.CanonicalHeaderKey(h)
		if slices.Contains(c.keyHeaders, k) {
			continue
		}
		c.keyHeaders = append(c.keyHeaders, k)
		c.keyHeaderLower = append(c.keyHeaderLower, strings.ToLower(k))
	}
	return c, nil
}

// Wrap returns next with caching in front of it.
func (c *Cache) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serveHTTP(next, w, r)
	})
}

func (c *Cache) serveHTTP(next http.Handler, w http.ResponseWriter, r *http.Request) {
	if !c.methods[r.Method] {
		if isUnsafe(r.Method) {
			c.invalidateAfter(next, w, r)
			return
		}
		next.ServeHTTP(w, r)
		return
	}
	if len(r.Header["Upgrade"]) > 0 {
		next.ServeHTTP(w, r) // a protocol upgrade is never a cacheable exchange
		return
	}
	info := reqinfo.FromContext(r.Context())
	reqCC := requestDirectives(r.Header)
	bypass, authorized := c.authBypass(r, info)
	if reqCC.noStore || bypass || hasPrecondition(r.Header) {
		w.Header()["X-Cache"] = bypassValue
		next.ServeHTTP(w, r)
		return
	}
	var stack [256]byte
	key := string(c.appendKey(stack[:0], r, info, r.Method))
	now := c.now()
	e, storeKey := c.lookup(r, key)
	if e != nil && authorized && !e.authOK {
		e = nil // RFC 9111 §3.5: not marked for requests with Authorization
	}
	force := reqCC.noCache || reqCC.maxAge == 0
	if e != nil {
		age := e.age(now)
		ageOK := reqCC.maxAge < 0 || age <= time.Duration(reqCC.maxAge)*time.Second
		// min-fresh: the client wants it fresh for that much longer
		// (RFC 9111 §5.2.1.3).
		minFresh := time.Duration(max(reqCC.minFresh, 0)) * time.Second
		if !force && ageOK && !e.noCache && age+minFresh < e.lifetime {
			c.serveEntry(w, r, e, Hit, now)
			return
		}
		staleBy := age - e.lifetime
		// max-stale: the client accepts a response stale by up to that
		// much (§5.2.1.2), unless the response forbids stale use.
		if !force && ageOK && !e.noCache && !e.noStale && reqCC.maxStale >= 0 && reqCC.minFresh < 0 &&
			staleBy <= time.Duration(reqCC.maxStale)*time.Second {
			c.serveEntry(w, r, e, Stale, now)
			return
		}
		if !force && ageOK && !e.noStale && reqCC.minFresh < 0 && staleBy < e.swr {
			c.serveEntry(w, r, e, Stale, now)
			c.refreshAsync(next, r, key, storeKey, e)
			return
		}
		if reqCC.onlyIfCached {
			c.onlyIfCachedMiss(w, r)
			return
		}
		if r.Method == http.MethodHead {
			// A HEAD response cannot refresh a GET entry: pass it through.
			w.Header()["X-Cache"] = missValue
			next.ServeHTTP(w, r)
			return
		}
		f := &fetch{key: key, storeKey: storeKey, stale: e, sieOK: !e.noStale && staleBy < e.sie, authorized: authorized}
		c.fetchShared(next, w, r, f, !force && !authorized)
		return
	}
	if reqCC.onlyIfCached {
		c.onlyIfCachedMiss(w, r)
		return
	}
	if r.Method == http.MethodHead {
		w.Header()["X-Cache"] = missValue
		next.ServeHTTP(w, r)
		return
	}
	c.fetchShared(next, w, r, &fetch{key: key, storeKey: storeKey, authorized: authorized}, !force && !authorized)
}

// authBypass reports requests whose responses may be personal: they carry
// Authorization or an authenticated identity, and the cache neither keys
// on the consumer nor was told to share them. With StoreAuthorized, a
// request with Authorization but no identity is not bypassed but
// authorized: only responses marked for it are stored and served.
func (c *Cache) authBypass(r *http.Request, info *reqinfo.Info) (bypass, authorized bool) {
	if c.cfg.CacheAuthenticated {
		return false, false
	}
	authenticated := info != nil && info.Identity != nil
	if c.cfg.KeyConsumer && authenticated {
		return false, false // keyed per consumer
	}
	if authenticated {
		return true, false
	}
	if len(r.Header["Authorization"]) > 0 {
		return !c.cfg.StoreAuthorized, c.cfg.StoreAuthorized
	}
	return false, false
}

// hasPrecondition reports requests the cache does not answer itself:
// If-Match, If-Unmodified-Since and If-Range preconditions, and Range
// (a stored full response is never sliced; the upstream answers).
func hasPrecondition(h http.Header) bool {
	return len(h["If-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0 ||
		len(h["If-Range"]) > 0 || len(h["Range"]) > 0
}

func isUnsafe(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// onlyIfCachedMiss answers a request with only-if-cached that we cannot
// serve from storage: 504, as RFC 9111 §5.2.1.7 says.
func (c *Cache) onlyIfCachedMiss(w http.ResponseWriter, r *http.Request) {
	w.Header()["X-Cache"] = missValue
	problem.Write(w, r, http.StatusGatewayTimeout, "the response is not cached and the request asked for only-if-cached")
}

// lookup reads the entry for key, following a vary index to the
// request's variant. storeKey is where the request's response is (or
// would be) stored. Backend failures and corrupt records read as a miss.
func (c *Cache) lookup(r *http.Request, key string) (e *entry, storeKey string) {
	b, ok := c.get(r.Context(), key)
	if !ok {
		return nil, key
	}
	e, vary, err := decodeRecord(b)
	if err != nil {
		return nil, key
	}
	if vary == nil {
		return e, key
	}
	storeKey = string(appendVary([]byte(key), vary, r.Header, c.cfg.VaryFoldCase))
	b, ok = c.get(r.Context(), storeKey)
	if !ok {
		return nil, storeKey
	}
	if e, _, err = decodeRecord(b); err != nil || e == nil {
		return nil, storeKey
	}
	return e, storeKey
}

// Backend calls: bounded by Timeout (except for the in-process backend,
// which never blocks), failures logged once per outage.

func (c *Cache) backendCtx(parent context.Context) (context.Context, context.CancelFunc) {
	if c.inProcess {
		return parent, func() {}
	}
	return context.WithTimeout(parent, c.cfg.Timeout)
}

func (c *Cache) get(parent context.Context, key string) ([]byte, bool) {
	ctx, cancel := c.backendCtx(parent)
	b, ok, err := c.backend.Get(ctx, key)
	cancel()
	c.noteBackend(err)
	return b, ok && err == nil
}

func (c *Cache) set(key string, val []byte, ttl time.Duration) {
	// The response is complete: store it even if the client has gone.
	ctx, cancel := c.backendCtx(context.Background())
	err := c.backend.Set(ctx, key, val, ttl)
	cancel()
	c.noteBackend(err)
}

func (c *Cache) del(keys ...string) {
	ctx, cancel := c.backendCtx(context.Background())
	err := c.backend.Delete(ctx, keys...)
	cancel()
	c.noteBackend(err)
}

// deleteVariants removes key and its Vary variants.
func (c *Cache) deleteVariants(key string) {
	c.del(key)
	ctx, cancel := c.backendCtx(context.Background())
	_, err := c.backend.DeletePrefix(ctx, key+" ~")
	cancel()
	c.noteBackend(err)
}

func (c *Cache) noteBackend(err error) {
	if err == nil {
		if c.failing.Load() && c.failing.CompareAndSwap(true, false) {
			c.log.Info("cache backend recovered", "namespace", c.cfg.Namespace)
		}
		return
	}
	if c.failing.CompareAndSwap(false, true) {
		c.log.Warn("cache backend failing; serving requests as misses", "namespace", c.cfg.Namespace, "error", err)
	}
}
