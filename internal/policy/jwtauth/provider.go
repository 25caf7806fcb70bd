package jwtauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxTokenLength bounds a token before it is parsed. Real access tokens
// are a few KiB even with many claims.
const MaxTokenLength = 16 << 10

// Defaults for the JWKS fetcher.
const (
	// DefaultJWKSRefresh is how often the JWKS is fetched again.
	DefaultJWKSRefresh = 5 * time.Minute
	// DefaultJWKSMinRefresh is the least time between two fetches
	// triggered by unknown kids: an IdP rotating keys is seen within it,
	// and a flood of forged kids costs the IdP two requests a minute.
	DefaultJWKSMinRefresh = 30 * time.Second
	// DefaultJWKSTimeout bounds one JWKS fetch.
	DefaultJWKSTimeout = 5 * time.Second
)

// Errors Verify may return besides the jwt package's (jwt.ErrTokenExpired,
// jwt.ErrTokenSignatureInvalid, ...), with errors.Is.
var (
	// ErrTokenTooLarge: the token is longer than MaxTokenLength.
	ErrTokenTooLarge = errors.New("token too large")
	// ErrUnknownKey: no configured or published key can verify the token.
	ErrUnknownKey = errors.New("no key for token")
	// ErrKeyMismatch: the token's kid names a key of another type or
	// algorithm than the token's alg.
	ErrKeyMismatch = errors.New("token key does not fit its algorithm")
	// ErrKeysUnavailable: the token needs a JWKS key and the JWKS has never
	// been fetched successfully. The gateway answers 503.
	ErrKeysUnavailable = errors.New("issuer keys unavailable")
)

// Secret is an HMAC key, used only for HS256/384/512.
type Secret struct {
	// KeyID matches the token's "kid"; "" matches any token.
	KeyID string
	Value []byte
}

// PublicKey is an RSA, ECDSA or Ed25519 public key or certificate in PEM.
type PublicKey struct {
	// KeyID matches the token's "kid"; "" matches any token.
	KeyID string
	PEM   []byte
}

// ProviderConfig is one trusted token issuer.
type ProviderConfig struct {
	// Name identifies the provider in logs; defaults to Issuer.
	Name string
	// Issuer, when set, is the required "iss". Tokens whose "iss" equals
	// it are checked against this provider only.
	Issuer string
	// Audiences, when set: the token's "aud" must hold one of them.
	Audiences []string
	// Algorithms is the allow-list, e.g. ["RS256", "ES256"]. Required;
	// "none" is refused.
	Algorithms []string
	// Secrets are HMAC keys; PublicKeys are PEM public keys.
	Secrets    []Secret
	PublicKeys []PublicKey
	// JWKSURL is fetched for more public keys.
	JWKSURL string
	// JWKSRefresh is the period between JWKS fetches (DefaultJWKSRefresh).
	JWKSRefresh time.Duration
	// JWKSMinRefresh is the least time between fetches triggered by an
	// unknown kid (DefaultJWKSMinRefresh).
	JWKSMinRefresh time.Duration
	// JWKSTimeout bounds one JWKS fetch (DefaultJWKSTimeout).
	JWKSTimeout time.Duration
	// Leeway is the clock skew allowed for exp, nbf and iat.
	Leeway time.Duration
	// AllowMissingExpiry accepts tokens without "exp". Off by default:
	// such a token never expires.
	AllowMissingExpiry bool
	// HTTPClient fetches the JWKS; a client with JWKSTimeout by default.
	HTTPClient *http.Client
	// ConsumerClaim holds the subject, which names the consumer ("sub").
	ConsumerClaim string
	// GroupsClaim, optional, holds groups: an array of strings or a
	// space-separated string.
	GroupsClaim string
	// ScopesClaim holds scopes. When empty, both "scope" (space-separated,
	// RFC 8693) and "scp" (array or string) are read.
	ScopesClaim string
}

// Provider verifies tokens of one issuer. It is safe for concurrent use.
type Provider struct {
	name          string
	issuer        string
	algs          []string
	static        *keySet
	jwks          *jwksCache // nil without JWKSURL
	parser        *jwt.Parser
	consumerClaim string
	groupsClaim   string
	scopesClaim   string
	leeway        time.Duration
	verified      verifiedCache
}

// NewProvider validates cfg and builds the provider. It does not touch
// the network: call Start to load the JWKS in the background.
func NewProvider(cfg ProviderConfig, log *slog.Logger) (*Provider, error) {
	if log == nil {
		log = slog.Default()
	}
	p := &Provider{
		name:          cmp.Or(cfg.Name, cfg.Issuer, "jwt"),
		issuer:        cfg.Issuer,
		consumerClaim: cmp.Or(cfg.ConsumerClaim, "sub"),
		groupsClaim:   cfg.GroupsClaim,
		scopesClaim:   cfg.ScopesClaim,
		leeway:        cfg.Leeway,
		verified:      newVerifiedCache(),
	}
	if len(cfg.Algorithms) == 0 {
		return nil, errors.New("jwt: algorithms: at least one is required")
	}
	families := map[family]bool{}
	for _, alg := range cfg.Algorithms {
		if strings.EqualFold(alg, "none") {
			return nil, errors.New(`jwt: algorithms: "none" (unsigned tokens) is never allowed`)
		}
		f := algFamily(alg)
		if f == famNone {
			return nil, fmt.Errorf("jwt: algorithms: unsupported algorithm %q", alg)
		}
		families[f] = true
		if !slices.Contains(p.algs, alg) {
			p.algs = append(p.algs, alg)
		}
	}

	var keys []*verifyKey
	for i, s := range cfg.Secrets {
		k, err := newVerifyKey(s.KeyID, "", slices.Clone(s.Value))
		if err != nil {
			return nil, fmt.Errorf("jwt: secrets[%d]: %w", i, err)
		}
		if len(s.Value) < 32 {
			// RFC 7518 §3.2 wants at least the hash size; Kong does not
			// enforce it, so existing setups keep working, loudly.
			log.Warn("jwt: HMAC secret shorter than 32 bytes", "provider", p.name, "index", i)
		}
		keys = append(keys, k)
	}
	for i, pk := range cfg.PublicKeys {
		pub, err := parsePublicKeyPEM(pk.PEM)
		if err != nil {
			return nil, fmt.Errorf("jwt: public_keys[%d]: %w", i, err)
		}
		k, err := newVerifyKey(pk.KeyID, "", pub)
		if err != nil {
			return nil, fmt.Errorf("jwt: public_keys[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	p.static = newKeySet(keys)

	// Every allowed algorithm needs a key source and every key an allowed
	// algorithm: either mismatch is a configuration mistake.
	for f := range families {
		if p.static.hasFamily(f) || (f != famHMAC && cfg.JWKSURL != "") {
			continue
		}
		return nil, fmt.Errorf("jwt: algorithms allow %s but no %s key is configured", algsOf(p.algs, f), f)
	}
	for _, k := range keys {
		if !families[k.fam] {
			return nil, fmt.Errorf("jwt: a %s key (kid %q) is configured but no %s algorithm is allowed", k.fam, k.kid, k.fam)
		}
	}

	if cfg.Leeway < 0 || cfg.JWKSRefresh < 0 || cfg.JWKSMinRefresh < 0 || cfg.JWKSTimeout < 0 {
		return nil, errors.New("jwt: durations must not be negative")
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("jwt: jwks_url %q: want an absolute http(s) URL", cfg.JWKSURL)
		}
		if u.Scheme == "http" {
			log.Warn("jwt: JWKS fetched over plain HTTP", "provider", p.name, "url", cfg.JWKSURL)
		}
		timeout := cmp.Or(cfg.JWKSTimeout, DefaultJWKSTimeout)
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: timeout}
		}
		p.jwks = newJWKSCache(cfg.JWKSURL, client, timeout,
			cmp.Or(cfg.JWKSRefresh, DefaultJWKSRefresh), cmp.Or(cfg.JWKSMinRefresh, DefaultJWKSMinRefresh),
			log.With("provider", p.name))
	}

	opts := []jwt.ParserOption{
		jwt.WithValidMethods(p.algs),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithIssuedAt(),
	}
	if !cfg.AllowMissingExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if len(cfg.Audiences) > 0 {
		opts = append(opts, jwt.WithAudience(slices.Clone(cfg.Audiences)...))
	}
	p.parser = jwt.NewParser(opts...)
	return p, nil
}

// Name is the provider's name for logs.
func (p *Provider) Name() string { return p.name }

// Start begins the JWKS background refresh, the first fetch at once and
// asynchronously. Without a JWKS URL it does nothing. Tokens verified
// before the first fetch completes wait for it (bounded by JWKSTimeout).
func (p *Provider) Start(ctx context.Context) {
	if p.jwks == nil {
		return
	}
	p.jwks.start()
	if ctx != nil && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, p.Close)
		_ = stop // Close is idempotent; nothing to undo when Close comes first.
	}
}

// Close stops the background refresh and waits for fetches in flight. It
// is idempotent; verification keeps working with the cached keys.
func (p *Provider) Close() {
	if p.jwks != nil {
		p.jwks.close()
	}
}

// Verify checks token's signature and claims and returns its claims.
// A token verified before (the same string, with the same JWKS key set,
// not yet expired) is answered from a bounded cache, so the claims map
// may be shared between requests: callers must not modify it.
func (p *Provider) Verify(ctx context.Context, token string) (jwt.MapClaims, error) {
	if len(token) > MaxTokenLength {
		return nil, ErrTokenTooLarge
	}
	var keys *keySet
	if p.jwks != nil {
		keys = p.jwks.current()
	}
	now := time.Now()
	if claims, ok := p.verified.get(token, keys, now); ok {
		return claims, nil
	}
	claims := jwt.MapClaims{}
	_, err := p.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		return p.keyFor(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	if p.jwks != nil {
		keys = p.jwks.current() // the set verification used, if it refreshed
	}
	p.verified.put(token, claims, keys, now, p.leeway)
	return claims, nil
}

// keyFor selects the keys that may verify t: the keys its kid names
// (static, then cached JWKS, then a fresh JWKS), else the keys without a
// kid — always only those whose type fits the token's algorithm.
func (p *Provider) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	// The parser already enforced the allow-list; checking again keeps
	// "none" out even if that ever changed.
	if algFamily(alg) == famNone || !slices.Contains(p.algs, alg) {
		return nil, fmt.Errorf("algorithm %q not allowed", alg)
	}
	// RFC 7515 §4.1.11: a token naming critical extensions the
	// recipient does not implement (Gatehouse implements none) must be
	// refused — e.g. "b64": false would change what the signature covers.
	if _, ok := t.Header["crit"]; ok {
		return nil, errors.New("token header has critical extensions (crit) that are not supported")
	}
	var kid string
	if v, ok := t.Header["kid"]; ok {
		s, ok := v.(string)
		if !ok {
			return nil, errors.New("kid is not a string")
		}
		kid = s
	}

	keys, known := p.candidates(nil, kid, alg)
	if len(keys) == 0 && !known && p.jwks != nil {
		p.jwks.refreshUnknown(ctx)
		keys, known = p.candidates(keys, kid, alg)
	}
	if known && len(keys) == 0 {
		return nil, fmt.Errorf("%w: kid %q, alg %s", ErrKeyMismatch, kid, alg)
	}
	if len(keys) == 0 && kid != "" {
		keys = p.static.appendWildcards(keys, alg)
		if p.jwks != nil {
			keys = p.jwks.current().appendWildcards(keys, alg)
		}
	}
	switch len(keys) {
	case 0:
		if p.jwks != nil && p.jwks.current() == nil && algFamily(alg) != famHMAC {
			return nil, ErrKeysUnavailable
		}
		return nil, fmt.Errorf("%w: kid %q, alg %s", ErrUnknownKey, kid, alg)
	case 1:
		return keys[0], nil
	}
	return jwt.VerificationKeySet{Keys: keys}, nil
}

// candidates appends the static and cached JWKS keys for kid and alg.
func (p *Provider) candidates(dst []jwt.VerificationKey, kid, alg string) ([]jwt.VerificationKey, bool) {
	dst, known := p.static.appendFitting(dst, kid, alg)
	if p.jwks != nil {
		var k bool
		dst, k = p.jwks.current().appendFitting(dst, kid, alg)
		known = known || k
	}
	return dst, known
}

// algsOf lists the algorithms of algs in family f, for messages.
func algsOf(algs []string, f family) string {
	var out []string
	for _, a := range algs {
		if algFamily(a) == f {
			out = append(out, a)
		}
	}
	return strings.Join(out, ", ")
}
