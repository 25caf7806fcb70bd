package gateway

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/redis/go-redis/v9"
)

// security is the identity state that outlives a snapshot: the key store
// (a bbolt file or Redis) and JWT providers, whose JWKS caches must not
// be refetched on every reload.
type security struct {
	// stateID says what store and redis were opened from (see stateID).
	stateID string
	store   keystore.Store
	redis   redis.UniversalClient
	jwt     map[string]*jwtauth.Provider // by fingerprint of the issuer config
	// local is the process's in-memory traffic store (quota counters
	// persisted under data_dir); opened on first use, closed on shutdown.
	local *store.Memory
}

// needsStore reports whether cfg uses run-time API keys: an api_key
// policy or an admin API that issues them.
func needsStore(cfg *config.Config) bool {
	if cfg.Admin != nil && cfg.Admin.Token != "" {
		return true
	}
	for _, r := range cfg.Routes {
		if r.Policies != nil && r.Policies.APIKey != nil {
			return true
		}
	}
	return false
}

// needsTraffic reports whether cfg has rate limits, quotas or caches.
func needsTraffic(cfg *config.Config) bool {
	for _, r := range cfg.Routes {
		if p := r.Policies; p != nil && (p.RateLimit != nil || p.Quota != nil || p.Cache != nil) {
			return true
		}
	}
	return false
}

// stateID identifies where shared state lives: the Redis settings, or
// the bbolt file. Equal ids on reload reuse the open client and store.
func stateID(cfg *config.Config) string {
	if cfg.Store != nil && cfg.Store.Redis != nil {
		b, _ := json.Marshal(cfg.Store.Redis)
		return "redis:" + string(b)
	}
	return "bolt:" + filepath.Join(cfg.DataDir, "keys.db")
}

// openShared opens what cfg keeps in shared state: the Redis client
// (reused while its settings are unchanged), the key store and the
// traffic store.
func (g *Gateway) openShared(cfg *config.Config, ps *policySet) error {
	id := stateID(cfg)
	ps.stateID = id
	reuse := g.sec.stateID == id
	if cfg.Store != nil && cfg.Store.Redis != nil {
		if reuse && g.sec.redis != nil {
			ps.redis = g.sec.redis
		} else {
			rc, err := translate.RedisClient(cfg.Store.Redis)
			if err != nil {
				return &config.Error{Pos: cfg.Store.Redis.Pos, Msg: "store: redis: " + err.Error()}
			}
			ps.redis = rc
		}
		prefix := cfg.Store.Redis.Prefix
		if needsStore(cfg) {
			ps.store = keystore.NewRedis(ps.redis, prefix)
		}
		if needsTraffic(cfg) {
			// Concurrent decisions share round trips (each still its own
			// atomic script): half the cost per decision under load.
			ps.shared = store.NewRedis(ps.redis, prefix, store.WithPipelining(0, 0))
		}
		return nil
	}
	if !needsStore(cfg) {
		return nil
	}
	if reuse && g.sec.store != nil {
		ps.store = g.sec.store
		return nil
	}
	b, err := keystore.OpenBolt(filepath.Join(cfg.DataDir, "keys.db"))
	if err != nil {
		return dataDirErr(cfg, err)
	}
	ps.store = b
	return nil
}

// dataDirErr reports a store under data_dir that cannot be opened.
func dataDirErr(cfg *config.Config, err error) error {
	return &config.Error{Pos: config.Pos{File: cfg.FirstFile()}, Msg: "data_dir: " + err.Error(),
		Hint: "is another gatehouse process using the same data_dir?"}
}

// openLocal opens the process's in-memory store once: its quota counters
// persist to data_dir/quota.db, so it lives as long as the process (a
// data_dir change takes effect on restart).
func (g *Gateway) openLocal(cfg *config.Config, open bool) (store.Store, error) {
	if !open {
		return store.NewMemory(store.MemoryOptions{}) // validate: nothing on disk
	}
	if g.sec.local != nil {
		return g.sec.local, nil
	}
	err := os.MkdirAll(cfg.DataDir, 0o700)
	var m *store.Memory
	if err == nil {
		m, err = store.NewMemory(store.MemoryOptions{PersistPath: filepath.Join(cfg.DataDir, "quota.db")})
	}
	if err != nil {
		return nil, dataDirErr(cfg, err)
	}
	g.sec.local = m
	return m, nil
}

// cacheMemory is the process's in-memory response cache backend, shared
// by every route's cache (each has its own namespace) and kept across
// reloads: an otter cache bounded by store.cache_max_bytes, fixed at first use.
func (g *Gateway) cacheMemory(cfg *config.Config) cache.Backend {
	g.cacheOnce.Do(func() { g.cacheMem = cache.NewMemoryBackend(cfg.CacheMaxBytes()) })
	return g.cacheMem
}

// closeSecurity releases the store and providers on shutdown.
func (g *Gateway) closeSecurity() {
	for _, p := range g.sec.jwt {
		p.Close()
	}
	if g.sec.store != nil {
		g.sec.store.Close()
	}
	if g.sec.local != nil {
		if err := g.sec.local.Close(); err != nil { // flushes quota counters
			g.log.Error("closing the local store", "error", err.Error())
		}
	}
	if g.sec.redis != nil {
		g.sec.redis.Close()
	}
}
