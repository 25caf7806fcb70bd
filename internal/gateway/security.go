package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/policy/apikey"
	"github.com/gatehouse/gatehouse/internal/policy/authz"
	"github.com/gatehouse/gatehouse/internal/policy/basicauth"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/cors"
	"github.com/gatehouse/gatehouse/internal/policy/extauth"
	"github.com/gatehouse/gatehouse/internal/policy/introspect"
	"github.com/gatehouse/gatehouse/internal/policy/ipfilter"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
	"github.com/gatehouse/gatehouse/internal/policy/limits"
	"github.com/gatehouse/gatehouse/internal/policy/mtlsauth"
	"github.com/gatehouse/gatehouse/internal/policy/waf"
	"github.com/gatehouse/gatehouse/internal/store"
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

// published is what the admin API reads from the running snapshot.
type published struct {
	consumers  identity.Consumers
	keys       keystore.Store
	adminToken string
	caches     map[string]*cache.Cache
	traffic    store.Store                  // where quota counters live
	plans      map[string]*config.QuotaRule // plans' quotas, by plan name
}

func adminToken(cfg *config.Config) string {
	if cfg == nil || cfg.Admin == nil {
		return ""
	}
	return cfg.Admin.Token
}

// adminAPI gives the admin listener the running consumers and key store.
func (g *Gateway) adminAPI() *admin.API {
	get := func() *published {
		if p := g.published.Load(); p != nil {
			return p
		}
		return &published{}
	}
	return &admin.API{
		Token:     func() string { return get().adminToken },
		Consumers: func() identity.Consumers { return get().consumers },
		Keys:      func() keystore.Store { return get().keys },
		Traffic:   g.trafficAPI(get),
	}
}

// policySet is the policies of one snapshot, built before it takes effect.
type policySet struct {
	consumers identity.Consumers
	// wrap holds, by route name, the function that puts the route's
	// policies around its filters and action.
	wrap map[string]func(http.Handler) http.Handler
	// jwt are the providers this snapshot uses, by fingerprint; those not
	// yet running are started when it takes effect.
	jwt map[string]*jwtauth.Provider
	// store and redis are the key store and Redis client to use (possibly
	// the running ones), opened from stateID.
	stateID string
	store   keystore.Store
	redis   redis.UniversalClient
	// shared is the Redis traffic store (nil without Redis); local the
	// process's in-memory one.
	shared store.Store
	local  store.Store
	// caches are the routes' response caches, for the admin API's purge.
	caches map[string]*cache.Cache
	// validating: built by `gatehouse validate`; local is throwaway.
	validating bool
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

// stateID identifies where shared state lives: the Redis settings, or
// the bbolt file. Equal ids on reload reuse the open client and store.
func stateID(cfg *config.Config) string {
	if cfg.Store != nil && cfg.Store.Redis != nil {
		b, _ := json.Marshal(cfg.Store.Redis)
		return "redis:" + string(b)
	}
	return "bolt:" + filepath.Join(cfg.DataDir, "keys.db")
}

// buildPolicies compiles every route's policies. With open false (for
// `gatehouse validate`) it opens no store and contacts nothing.
func (g *Gateway) buildPolicies(cfg *config.Config, open bool) (*policySet, error) {
	ps := &policySet{consumers: identity.Consumers{}, wrap: map[string]func(http.Handler) http.Handler{},
		jwt: map[string]*jwtauth.Provider{}, caches: map[string]*cache.Cache{}, validating: !open}
	for _, c := range cfg.Consumers {
		ps.consumers[c.Name] = &identity.Consumer{Name: c.Name, Groups: c.Groups, Metadata: c.Metadata, Plan: c.Plan}
	}
	if open {
		if err := g.openShared(cfg, ps); err != nil {
			return nil, err
		}
	}
	if needsTraffic(cfg) {
		local, err := g.openLocal(cfg, open)
		if err != nil {
			ps.discard(g)
			return nil, err
		}
		ps.local = local
	}
	var errs config.Errors
	providers := map[string]*config.JWTProvider{}
	for _, p := range cfg.JWTProviders {
		providers[p.Name] = p
	}
	for _, r := range cfg.Routes {
		if r.Policies == nil {
			continue
		}
		wrap, err := g.routePolicies(cfg, r, ps, providers)
		if err != nil {
			pos := r.Policies.Pos
			var pe *positioned
			if errors.As(err, &pe) {
				pos = pe.pos
			}
			errs = append(errs, posErr(pos, "route %q: %v", r.Name, err))
			continue
		}
		ps.wrap[r.Name] = wrap
	}
	if len(errs) > 0 {
		ps.discard(g)
		return nil, errs
	}
	return ps, nil
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
			rc, err := redisClient(cfg.Store.Redis)
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

func init() {
	// go-redis logs every failed dial to stderr through its own logger;
	// the limit policies log store failures themselves, rate-limited.
	redis.SetLogger(quietRedis{})
}

type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// redisClient builds a go-redis UniversalClient: standalone, Cluster or
// Sentinel depending on the addresses and master name.
func redisClient(c *config.RedisStore) (redis.UniversalClient, error) {
	o := &redis.UniversalOptions{
		Addrs: c.Addrs, MasterName: c.MasterName, Username: c.Username, Password: c.Password, DB: c.DB,
		PoolSize: c.PoolSize, DialTimeout: c.Timeout * 10, ReadTimeout: c.Timeout, WriteTimeout: c.Timeout,
		// Callers' deadlines (tens of milliseconds) bound every call.
		ContextTimeoutEnabled: true,
		// Requests carry their own deadlines; a pool wait must not exceed them.
		PoolTimeout: c.Timeout * 2,
	}
	if t := c.TLS; t != nil {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			tc.RootCAs.AppendCertsFromPEM(pem)
		}
		o.TLSConfig = tc
	}
	return redis.NewUniversalClient(o), nil
}

// commit makes ps the running policy state: starts new JWT providers,
// closes those and any store no longer used. Caller holds g.mu.
func (ps *policySet) commit(g *Gateway) {
	for fp, p := range ps.jwt {
		if _, running := g.sec.jwt[fp]; !running {
			p.Start(context.Background())
		}
	}
	for fp, p := range g.sec.jwt {
		if _, kept := ps.jwt[fp]; !kept {
			p.Close()
		}
	}
	g.sec.jwt = ps.jwt
	if g.sec.store != nil && g.sec.store != ps.store {
		g.sec.store.Close()
	}
	if g.sec.redis != nil && g.sec.redis != ps.redis {
		old := g.sec.redis
		// Requests of the old snapshot may still use it.
		time.AfterFunc(g.cfg.Shutdown.GracePeriod, func() { old.Close() })
	}
	g.sec.store, g.sec.redis, g.sec.stateID = ps.store, ps.redis, ps.stateID
	pub := &published{consumers: ps.consumers, keys: ps.store, adminToken: adminToken(g.cfg), caches: ps.caches,
		plans: map[string]*config.QuotaRule{}}
	pub.traffic = ps.local
	if ps.shared != nil {
		pub.traffic = ps.shared
	}
	for _, pl := range g.cfg.Plans {
		if pl.Quota != nil {
			pub.plans[pl.Name] = pl.Quota
		}
	}
	g.published.Store(pub)
}

// discard releases what buildPolicies opened for a snapshot that will
// not take effect.
func (ps *policySet) discard(g *Gateway) {
	for fp, p := range ps.jwt {
		if _, running := g.sec.jwt[fp]; !running {
			p.Close()
		}
	}
	if ps.store != nil && ps.store != g.sec.store {
		ps.store.Close()
	}
	if ps.redis != nil && ps.redis != g.sec.redis {
		ps.redis.Close()
	}
	if ps.validating && ps.local != nil {
		ps.local.Close()
	}
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

// jwtProvider returns the provider for an issuer config, shared with the
// running snapshot when the config is unchanged.
func (g *Gateway) jwtProvider(name string, j *config.JWTIssuer, ps *policySet) (*jwtauth.Provider, error) {
	// The JSON holds every field, key PEM contents included.
	b, _ := json.Marshal(struct {
		Name string
		*config.JWTIssuer
	}{name, j})
	sum := sha256.Sum256(b)
	fp := hex.EncodeToString(sum[:])
	if p, ok := ps.jwt[fp]; ok {
		return p, nil
	}
	if p, ok := g.sec.jwt[fp]; ok {
		ps.jwt[fp] = p
		return p, nil
	}
	pc := jwtauth.ProviderConfig{
		Name: name, Issuer: j.Issuer, Audiences: j.Audiences, Algorithms: j.Algorithms,
		JWKSURL: j.JWKSURL, JWKSRefresh: j.JWKSRefresh, JWKSMinRefresh: j.JWKSMinRefresh, JWKSTimeout: j.JWKSTimeout,
		Leeway: j.Leeway, ConsumerClaim: j.ConsumerClaim, GroupsClaim: j.GroupsClaim, ScopesClaim: j.ScopesClaim,
	}
	if j.Secret != "" {
		pc.Secrets = append(pc.Secrets, jwtauth.Secret{Value: []byte(j.Secret)})
	}
	for _, k := range j.Keys {
		if k.Secret != "" {
			pc.Secrets = append(pc.Secrets, jwtauth.Secret{KeyID: k.KID, Value: []byte(k.Secret)})
		} else {
			pc.PublicKeys = append(pc.PublicKeys, jwtauth.PublicKey{KeyID: k.KID, PEM: k.PEM})
		}
	}
	p, err := jwtauth.NewProvider(pc, g.log.With("jwt_provider", name))
	if err != nil {
		return nil, err
	}
	ps.jwt[fp] = p
	return p, nil
}

// routePolicies builds one route's policy chain. The order is fixed
// (DESIGN.md): IP filter, request limits, CORS, WAF, authentication and
// authorization, then the route's filters and action. CORS runs before
// authentication so browsers' preflights, which carry no credentials,
// are answered.
func (g *Gateway) routePolicies(cfg *config.Config, r *config.Route, ps *policySet, providers map[string]*config.JWTProvider) (func(http.Handler) http.Handler, error) {
	p := r.Policies
	var layers []func(http.Handler) http.Handler

	if f := p.IPFilter; f != nil {
		flt, err := ipfilter.New(ipfilter.Config{Allow: f.Allow, Deny: f.Deny})
		if err != nil {
			return nil, policyErr(f.Pos, "ip_filter", err)
		}
		layers = append(layers, flt.Wrap)
	}
	if l := p.RequestLimits; l != nil {
		lim, err := limits.New(limits.Config{MaxBodyBytes: l.MaxBodyBytes, MaxHeaderCount: l.MaxHeaderCount, MaxHeaderBytes: l.MaxHeaderBytes})
		if err != nil {
			return nil, policyErr(l.Pos, "request_limits", err)
		}
		layers = append(layers, lim.Wrap)
	}
	if c := p.CORS; c != nil {
		cc, err := cors.New(cors.Config{
			AllowOrigins: c.AllowOrigins, AllowOriginRegex: c.AllowOriginRegex, AllowMethods: c.AllowMethods,
			AllowHeaders: c.AllowHeaders, ExposeHeaders: c.ExposeHeaders, AllowCredentials: c.AllowCredentials,
			MaxAge: c.MaxAge, AllowPrivateNetwork: c.AllowPrivateNetwork,
		})
		if err != nil {
			return nil, policyErr(c.Pos, "cors", err)
		}
		layers = append(layers, cc.Wrap)
	}
	if w := p.WAF; w != nil {
		wf, err := waf.New(waf.Config{
			Mode: w.Mode, ParanoiaLevel: w.ParanoiaLevel, AnomalyThreshold: w.AnomalyThreshold,
			ExcludeRules: w.ExcludeRules, Directives: w.Directives, RequestBodyLimit: w.RequestBodyLimit,
			Logger: g.log,
		})
		if err != nil {
			return nil, policyErr(w.Pos, "waf", err)
		}
		layers = append(layers, wf.Wrap)
	}
	if p.HasAuthentication() {
		chain, err := g.authentication(cfg, r, ps, providers)
		if err != nil {
			return nil, err
		}
		layers = append(layers, func(next http.Handler) http.Handler {
			c := *chain
			c.next = next
			return &c
		})
	}
	traffic, err := g.trafficLayers(cfg, r, ps)
	if err != nil {
		return nil, err
	}
	layers = append(layers, traffic...)
	return func(h http.Handler) http.Handler {
		for i := len(layers) - 1; i >= 0; i-- {
			h = layers[i](h)
		}
		return h
	}, nil
}

// authentication builds the route's authentication methods, in the
// order: mtls, api_key, jwt, introspection, basic_auth, ext_auth. The
// cheap, local methods come first; ext_auth, which always decides, last.
func (g *Gateway) authentication(cfg *config.Config, r *config.Route, ps *policySet, providers map[string]*config.JWTProvider) (*authChain, error) {
	p := r.Policies
	a := &authChain{optional: p.AuthOptional, headers: defaultIdentityHeaders}
	if p.ConsumerHeaders != nil {
		a.headers = nil
		for name, field := range p.ConsumerHeaders {
			a.headers = append(a.headers, identityHeader{http.CanonicalHeaderKey(name), field})
		}
		slices.SortFunc(a.headers, func(x, y identityHeader) int { return strings.Compare(x.header, y.header) })
	}
	// The default names are stripped from clients even when a route
	// renames them: an upstream may trust them from other routes.
	a.strip = []string{hdrConsumer, hdrGroups, hdrMethod}
	for _, h := range a.headers {
		a.strip = appendUnique(a.strip, h.header)
	}
	if p.MTLS != nil {
		var maps []mtlsauth.Mapping
		for _, c := range cfg.Consumers {
			for _, m := range c.Certificates {
				maps = append(maps, mtlsauth.Mapping{Subject: m.Subject, CommonName: m.CommonName, DNSName: m.DNSName, URI: m.URI, Email: m.Email, Consumer: c.Name})
			}
		}
		m, err := mtlsauth.New(mtlsauth.Config{Mappings: maps, Consumers: ps.consumers, RequireMapping: p.MTLS.RequireMapping,
			ForwardHeader: p.MTLS.ForwardHeader})
		if err != nil {
			return nil, policyErr(p.MTLS.Pos, "mtls", err)
		}
		if h := p.MTLS.ForwardHeader; h != "" {
			a.strip = appendUnique(a.strip, http.CanonicalHeaderKey(h))
		}
		a.methods = append(a.methods, m)
	}
	if k := p.APIKey; k != nil {
		static := map[[32]byte]string{}
		for _, c := range cfg.Consumers {
			for _, key := range c.APIKeys {
				if key.Key != "" {
					static[keystore.HashKey(key.Key)] = c.Name
				} else {
					var h [32]byte
					hex.Decode(h[:], []byte(key.KeyHash))
					static[h] = c.Name
				}
			}
		}
		m, err := apikey.New(apikey.Config{Header: k.Header, Query: k.Query, Cookie: k.Cookie, Static: static,
			Store: ps.store, Consumers: ps.consumers, HideCredentials: k.HideCredentials, Realm: "gatehouse"})
		if err != nil {
			return nil, policyErr(k.Pos, "api_key", err)
		}
		a.methods = append(a.methods, m)
	}
	if j := p.JWT; j != nil {
		var provs []*jwtauth.Provider
		for _, name := range j.Providers {
			pv, err := g.jwtProvider(name, &providers[name].JWTIssuer, ps)
			if err != nil {
				return nil, fmt.Errorf("jwt provider %q: %w", name, err)
			}
			provs = append(provs, pv)
		}
		if j.Given() {
			pv, err := g.jwtProvider(r.Name, &j.JWTIssuer, ps)
			if err != nil {
				return nil, policyErr(j.Pos, "jwt", err)
			}
			provs = append(provs, pv)
		}
		m, err := jwtauth.New(jwtauth.Config{Providers: provs, Consumers: ps.consumers, Header: j.Header, Query: j.Query, Cookie: j.Cookie,
			Realm: "gatehouse", RequiredClaims: j.RequiredClaims, RequiredScopes: j.RequiredScopes, ForwardClaims: j.ForwardClaims,
			KeepAuthorization: j.KeepAuthorization})
		if err != nil {
			return nil, policyErr(j.Pos, "jwt", err)
		}
		for _, h := range j.ForwardClaims {
			a.strip = appendUnique(a.strip, http.CanonicalHeaderKey(h))
		}
		a.methods = append(a.methods, m)
	}
	if in := p.Introspection; in != nil {
		m, err := introspect.New(introspect.Config{Endpoint: in.Endpoint, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
			TokenTypeHint: in.TokenTypeHint, Timeout: in.Timeout, CacheTTL: in.CacheTTL, RequiredScopes: in.RequiredScopes,
			Audiences: in.Audiences, Issuer: in.Issuer, ConsumerField: in.ConsumerField, Consumers: ps.consumers,
			Realm: "gatehouse", KeepAuthorization: in.KeepAuthorization, Header: in.Header, Query: in.Query, Cookie: in.Cookie})
		if err != nil {
			return nil, policyErr(in.Pos, "introspection", err)
		}
		a.methods = append(a.methods, m)
	}
	if b := p.BasicAuth; b != nil {
		var users []basicauth.User
		for _, c := range cfg.Consumers {
			if c.BasicAuth != nil {
				users = append(users, basicauth.User{Name: c.BasicAuth.Username, Hash: []byte(c.BasicAuth.PasswordHash), Consumer: c.Name})
			}
		}
		m, err := basicauth.New(basicauth.Config{Users: users, HtpasswdFile: b.HtpasswdFile, Realm: b.Realm,
			Consumers: ps.consumers, HideCredentials: b.HideCredentials})
		if err != nil {
			return nil, policyErr(b.Pos, "basic_auth", err)
		}
		a.methods = append(a.methods, m)
	}
	if e := p.ExtAuth; e != nil {
		m, err := extauth.New(extauth.Config{URL: e.URL, Timeout: e.Timeout, RequestHeaders: e.RequestHeaders,
			UpstreamHeaders: e.UpstreamHeaders, ClientHeaders: e.ClientHeaders, SubjectHeader: e.SubjectHeader, Consumers: ps.consumers})
		if err != nil {
			return nil, policyErr(e.Pos, "ext_auth", err)
		}
		for _, h := range e.UpstreamHeaders {
			a.strip = appendUnique(a.strip, http.CanonicalHeaderKey(h))
		}
		a.methods = append(a.methods, m)
	}
	if z := p.Authorize; z != nil {
		az, err := authz.New(authz.Config{AnyGroups: z.AnyGroups, AllGroups: z.AllGroups, AnyScopes: z.AnyScopes,
			AllScopes: z.AllScopes, Claims: z.Claims, Consumers: z.Consumers})
		if err != nil {
			return nil, policyErr(z.Pos, "authorize", err)
		}
		a.authz = az
	}
	return a, nil
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// policyErr names the policy a construction error belongs to, by its
// configuration key and at its line, without repeating a prefix the
// package already put there ("jwt: jwt: ...") or leaving the package's
// own name for it.
func policyErr(pos config.Pos, key string, err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, key+": "):
	default:
		err = fmt.Errorf("%s: %w", key, err)
		for _, own := range []string{"ipfilter: ", "limits: ", "authz: "} {
			if rest, ok := strings.CutPrefix(msg, own); ok {
				err = fmt.Errorf("%s: %s", key, rest)
			}
		}
	}
	return &positioned{pos, err}
}

// positioned is a policy error with the line of the policy at fault.
type positioned struct {
	pos config.Pos
	err error
}

func (p *positioned) Error() string { return p.err.Error() }
func (p *positioned) Unwrap() error { return p.err }
