// Package introspect authenticates bearer tokens by asking an OAuth 2.0
// authorization server about them (token introspection, RFC 7662), for
// opaque tokens a gateway cannot verify by itself.
package introspect

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

const (
	// DefaultTimeout bounds one introspection call (Config.Timeout 0).
	DefaultTimeout = 2 * time.Second
	// DefaultCacheTTL is how long an active verdict is reused (Config.CacheTTL 0).
	DefaultCacheTTL  = 60 * time.Second
	defaultCacheSize = 10000
	// inactiveTTL is how long an inactive verdict is remembered: long
	// enough to absorb a client retrying a revoked token in a loop, short
	// enough that a token activated meanwhile works soon.
	inactiveTTL = 10 * time.Second
	// maxResponse bounds the introspection response read.
	maxResponse = 64 << 10
	// maxToken bounds the token sent to the endpoint.
	maxToken     = 8 << 10
	defaultRealm = "gatehouse"
)

// Config configures an Authenticator.
type Config struct {
	// Endpoint is the introspection endpoint URL.
	Endpoint string
	// ClientID and ClientSecret authenticate the gateway to the endpoint
	// with HTTP Basic (client_secret_basic). No authentication is sent
	// when ClientID is empty.
	ClientID     string
	ClientSecret string
	// TokenTypeHint is sent as token_type_hint when set, e.g. "access_token".
	TokenTypeHint string
	// Timeout bounds one introspection call; default 2s.
	Timeout time.Duration
	// CacheTTL caps how long an active result is cached (never past the
	// token's exp); default 60s. Inactive results are cached for 10s, or
	// CacheTTL if shorter. A negative CacheTTL disables caching.
	CacheTTL time.Duration
	// CacheSize bounds the cached results; default 10000.
	CacheSize int
	// Header, Query and Cookie name where the token is looked for, in
	// that order, as for JWTs. Header defaults to Authorization, where the
	// Bearer scheme is required; Query and Cookie are optional extras.
	Header string
	Query  string
	Cookie string
	// Consumers are the configured consumers tokens map to.
	Consumers identity.Consumers
	// ConsumerField is the response member naming the consumer. When
	// empty, the first non-empty of "sub", "username" and "client_id".
	ConsumerField string
	// RequiredScopes must all be in the token's scope (else 403).
	RequiredScopes []string
	// Audiences, when set, must share at least one value with the
	// token's aud (else 401).
	Audiences []string
	// Issuer, when set, must equal the token's iss (else 401).
	Issuer string
	// HTTPClient calls the endpoint; default a client on
	// http.DefaultTransport. Redirects are never followed.
	HTTPClient *http.Client
	// Realm is the challenge realm; default "gatehouse".
	Realm string
	// KeepAuthorization forwards the token upstream. By default it is
	// removed from wherever it was found once accepted.
	KeepAuthorization bool
}

// Authenticator introspects bearer tokens. It is safe for concurrent use.
type Authenticator struct {
	endpoint      string
	clientID      string
	clientSecret  string
	hint          string
	timeout       time.Duration
	ttl           time.Duration // 0 disables the cache
	header        string
	query         string
	cookie        string
	consumers     identity.Consumers
	consumerField string
	scopes        []string
	audiences     []string
	issuer        string
	client        *http.Client
	keep          bool

	// challenge, and those of a 401 for a refused token and of a 403 for
	// a missing scope, built once by New.
	challenge, invalidToken, insufficientScope string

	cache   *credential.Cache[[32]byte, *result]
	flights singleflight.Group
	now     func() time.Time
}

// New compiles cfg, failing on a missing or non-HTTP endpoint, negative
// durations or sizes, or a realm that cannot be quoted.
func New(cfg Config) (*Authenticator, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", cfg.Endpoint)
	}
	if cfg.Timeout < 0 || cfg.CacheSize < 0 {
		return nil, errors.New("timeout and cache size must not be negative")
	}
	a := &Authenticator{
		endpoint:      cfg.Endpoint,
		clientID:      cfg.ClientID,
		clientSecret:  cfg.ClientSecret,
		hint:          cfg.TokenTypeHint,
		timeout:       cmp.Or(cfg.Timeout, DefaultTimeout),
		ttl:           cmp.Or(cfg.CacheTTL, DefaultCacheTTL),
		query:         cfg.Query,
		cookie:        cfg.Cookie,
		consumers:     cfg.Consumers,
		consumerField: cfg.ConsumerField,
		scopes:        slices.Clone(cfg.RequiredScopes),
		audiences:     slices.Clone(cfg.Audiences),
		issuer:        cfg.Issuer,
		keep:          cfg.KeepAuthorization,
		cache:         credential.NewCache[[32]byte, *result](cmp.Or(cfg.CacheSize, defaultCacheSize)),
		now:           time.Now,
	}
	a.header = http.CanonicalHeaderKey(cmp.Or(cfg.Header, "Authorization"))
	if a.ttl < 0 {
		a.ttl = 0
	}
	for _, s := range a.scopes {
		if !credential.ValidScope(s) {
			return nil, fmt.Errorf("invalid required scope %q", s)
		}
	}
	realm := cmp.Or(cfg.Realm, defaultRealm)
	if !credential.Quotable(realm) {
		return nil, fmt.Errorf("realm %q must not contain quotes, backslashes or control characters", realm)
	}
	a.challenge = credential.Challenge("Bearer", realm)
	a.invalidToken = credential.WithParam(a.challenge, "error", "invalid_token")
	a.insufficientScope = credential.InsufficientScope(a.challenge, a.scopes)
	// Copy the client so setting CheckRedirect does not change the
	// caller's: a redirect from the endpoint is a fault, not something to
	// follow with the token in the body.
	client := http.Client{Transport: http.DefaultTransport}
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a.client = &client
	return a, nil
}

// Challenge returns `Bearer realm="..."`.
func (a *Authenticator) Challenge() string { return a.challenge }

// Authenticate introspects the request's token. No token means no
// credentials; an inactive, expired, not-yet-valid, wrong-issuer or
// wrong-audience token is a 401 invalid_token; a token lacking a required
// scope is a 403 insufficient_scope; an endpoint that fails, times out or
// answers other than 200 is a 503 (fail closed).
//
// Results are cached by SHA-256 of the token until the token's exp, at
// most CacheTTL, and concurrent requests with the same uncached token
// share one call to the endpoint.
func (a *Authenticator) Authenticate(r *http.Request) (*identity.Identity, error) {
	tok, src, err := a.token(r)
	if err != nil {
		return nil, err
	}
	if tok == "" || len(tok) > maxToken {
		return nil, a.invalid("malformed bearer token")
	}
	key := sha256.Sum256([]byte(tok))
	now := a.now()
	res, ok := a.cache.Get(key, now)
	if !ok {
		res, err = a.lookup(r.Context(), tok, key)
		if err != nil {
			return nil, identity.Unavailable("token introspection failed", err)
		}
	}
	if err := a.check(res, now); err != nil {
		return nil, err
	}
	if !a.keep {
		a.strip(r, src)
	}
	id := &identity.Identity{
		Method:   "introspection",
		Subject:  res.subject,
		Consumer: res.consumer,
		Scopes:   slices.Clip(res.scopes),
		Claims:   res.claims, // shared by every request with this token: read-only
	}
	if res.consumer != nil {
		id.Groups = slices.Clip(res.consumer.Groups)
	}
	return id, nil
}

// check applies the time, issuer, audience and scope rules. It runs on
// every request, cached or not, since exp and nbf move with the clock.
func (a *Authenticator) check(res *result, now time.Time) *identity.Error {
	switch {
	case !res.active:
		return a.invalid("token is not active")
	case !res.exp.IsZero() && !now.Before(res.exp):
		return a.invalid("token has expired")
	case !res.nbf.IsZero() && now.Before(res.nbf):
		return a.invalid("token is not valid yet")
	case a.issuer != "" && res.iss != a.issuer:
		return a.invalid("token has the wrong issuer")
	case len(a.audiences) > 0 && !slices.ContainsFunc(res.aud, func(s string) bool { return slices.Contains(a.audiences, s) }):
		return a.invalid("token has the wrong audience")
	}
	for _, s := range a.scopes {
		if !slices.Contains(res.scopes, s) {
			e := identity.Forbidden("token lacks the required scope")
			e.Challenge = a.insufficientScope
			return e
		}
	}
	return nil
}

func (a *Authenticator) invalid(detail string) *identity.Error {
	return identity.Unauthorized(detail, credential.WithParam(a.invalidToken, "error_description", detail), nil)
}

// lookup calls the endpoint once for all concurrent requests with this
// token, and caches the result. The call is detached from the first
// request's cancellation (bounded by the timeout instead), so a client
// hanging up does not fail the others waiting on the same call.
func (a *Authenticator) lookup(ctx context.Context, tok string, key [32]byte) (*result, error) {
	v, err, _ := a.flights.Do(string(key[:]), func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.timeout)
		defer cancel()
		res, err := a.introspect(ctx, tok)
		if err != nil {
			return nil, err
		}
		if a.ttl > 0 {
			now := a.now()
			exp := now.Add(min(a.ttl, inactiveTTL))
			if res.active {
				exp = now.Add(a.ttl)
				if !res.exp.IsZero() && res.exp.Before(exp) {
					exp = res.exp
				}
			}
			a.cache.Put(key, res, exp, now)
		}
		return res, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*result), nil
}

// introspect makes one call to the endpoint.
func (a *Authenticator) introspect(ctx context.Context, tok string) (*result, error) {
	form := url.Values{"token": {tok}}
	if a.hint != "" {
		form.Set("token_type_hint", a.hint)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if a.clientID != "" {
		// RFC 6749 section 2.3.1: the id and secret are form-encoded
		// before being used as Basic credentials.
		req.SetBasicAuth(url.QueryEscape(a.clientID), url.QueryEscape(a.clientSecret))
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := credential.ReadAll(resp.Body, maxResponse)
	if err != nil {
		return nil, fmt.Errorf("reading introspection response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspection endpoint answered %d", resp.StatusCode)
	}
	return a.parseResponse(body)
}
