package jwtauth

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

// Config is the JWT authentication of one route.
type Config struct {
	// Providers are the trusted issuers. A token whose "iss" equals a
	// provider's Issuer is checked by that provider only; any other token
	// by the providers without an Issuer, in order.
	Providers []*Provider
	// Consumers maps token subjects to configured consumers.
	Consumers identity.Consumers
	// Header carries the token; "Authorization" (Bearer scheme) by default.
	Header string
	// Query and Cookie optionally name a query parameter and a cookie that
	// carry the token.
	Query  string
	Cookie string
	// Realm goes into WWW-Authenticate: Bearer realm="...".
	Realm string
	// RequiredClaims: each claim must equal one of its values (an array
	// claim must contain one). Dotted names reach into nested objects.
	RequiredClaims map[string][]string
	// RequiredScopes must all be granted.
	RequiredScopes []string
	// ForwardClaims maps a claim name to the upstream header carrying it.
	ForwardClaims map[string]string
	// KeepAuthorization forwards the token upstream; by default it is
	// removed from the request once accepted.
	KeepAuthorization bool
}

// Authenticator is the identity.Authenticator for JWT bearer tokens.
type Authenticator struct {
	providers  []*Provider
	byIssuer   map[string][]*Provider
	anyIssuer  []*Provider // providers without an Issuer
	consumers  identity.Consumers
	header     string
	bearerOnly bool
	query      string
	cookie     string
	keep       bool

	requiredClaims []requiredClaim
	requiredScopes []string
	forward        []forwardClaim

	challenge         string // Bearer realm="..."
	invalidToken      string // ... error="invalid_token"
	invalidRequest    string // ... error="invalid_request"
	insufficientScope string // ... error="insufficient_scope", scope="..."
}

type requiredClaim struct {
	name   string
	values []string
}

type forwardClaim struct {
	claim  string
	header string
}

var _ identity.Authenticator = (*Authenticator)(nil)

// New validates cfg and builds the authenticator.
func New(cfg Config) (*Authenticator, error) {
	if len(cfg.Providers) == 0 {
		return nil, errors.New("jwt: at least one provider is required")
	}
	a := &Authenticator{
		byIssuer:       map[string][]*Provider{},
		consumers:      cfg.Consumers,
		header:         textproto.CanonicalMIMEHeaderKey(cmp.Or(cfg.Header, "Authorization")),
		query:          cfg.Query,
		cookie:         cfg.Cookie,
		keep:           cfg.KeepAuthorization,
		requiredScopes: slices.Clone(cfg.RequiredScopes),
	}
	for i, p := range cfg.Providers {
		if p == nil {
			return nil, fmt.Errorf("jwt: providers[%d] is nil", i)
		}
		a.providers = append(a.providers, p)
		if p.issuer != "" {
			a.byIssuer[p.issuer] = append(a.byIssuer[p.issuer], p)
		} else {
			a.anyIssuer = append(a.anyIssuer, p)
		}
	}
	if !h1wire.IsToken(a.header) {
		return nil, fmt.Errorf("jwt: header %q is not a valid header name", cfg.Header)
	}
	a.bearerOnly = a.header == "Authorization"
	if cfg.Cookie != "" && !h1wire.IsToken(cfg.Cookie) {
		return nil, fmt.Errorf("jwt: cookie %q is not a valid cookie name", cfg.Cookie)
	}
	if !credential.Quotable(cfg.Realm) {
		return nil, fmt.Errorf("jwt: realm %q must not contain quotes, backslashes or control characters", cfg.Realm)
	}
	for _, s := range cfg.RequiredScopes {
		if !credential.ValidScope(s) {
			return nil, fmt.Errorf("jwt: required scope %q is not a valid scope token", s)
		}
	}
	for name, values := range cfg.RequiredClaims {
		if name == "" || len(values) == 0 {
			return nil, fmt.Errorf("jwt: required claim %q needs a name and at least one value", name)
		}
		a.requiredClaims = append(a.requiredClaims, requiredClaim{name, slices.Clone(values)})
	}
	sort.Slice(a.requiredClaims, func(i, j int) bool { return a.requiredClaims[i].name < a.requiredClaims[j].name })
	for claim, header := range cfg.ForwardClaims {
		if claim == "" || !h1wire.IsToken(header) {
			return nil, fmt.Errorf("jwt: forward claim %q to header %q: invalid name", claim, header)
		}
		a.forward = append(a.forward, forwardClaim{claim, textproto.CanonicalMIMEHeaderKey(header)})
	}
	sort.Slice(a.forward, func(i, j int) bool { return a.forward[i].claim < a.forward[j].claim })

	a.challenge = credential.Challenge("Bearer", cfg.Realm)
	a.invalidToken = credential.WithParam(a.challenge, "error", "invalid_token")
	a.invalidRequest = credential.WithParam(a.challenge, "error", "invalid_request")
	a.insufficientScope = credential.InsufficientScope(a.challenge, a.requiredScopes)
	return a, nil
}

// Challenge is the WWW-Authenticate value for a request without a token.
func (a *Authenticator) Challenge() string { return a.challenge }

// Authenticate verifies the request's token and returns its identity.
func (a *Authenticator) Authenticate(r *http.Request) (*identity.Identity, error) {
	tok, src, found, err := a.extract(r)
	if !found {
		return nil, identity.ErrNoCredentials
	}
	if err != nil {
		return nil, identity.Unauthorized(err.Error(), a.invalidRequest, err)
	}
	p, claims, err := a.verify(r.Context(), tok)
	if err != nil {
		if errors.Is(err, ErrKeysUnavailable) {
			return nil, identity.Unavailable("token issuer keys unavailable", err)
		}
		return nil, identity.Unauthorized(refusalDetail(err), a.invalidToken, err)
	}
	subject := p.subject(claims)
	if subject == "" {
		return nil, identity.Unauthorized("token has no "+p.consumerClaim+" claim", a.invalidToken, nil)
	}
	for _, rc := range a.requiredClaims {
		v, ok := identity.LookupClaim(claims, rc.name)
		if !ok || !identity.ClaimMatches(v, rc.values) {
			return nil, identity.Forbidden("token claim " + rc.name + " is missing or not accepted")
		}
	}
	scopes := p.scopes(claims)
	for _, s := range a.requiredScopes {
		if !slices.Contains(scopes, s) {
			return nil, &identity.Error{
				Status:    http.StatusForbidden,
				Detail:    "insufficient scope: " + s + " required",
				Challenge: a.insufficientScope,
			}
		}
	}

	id := &identity.Identity{
		Method:   "jwt",
		Subject:  subject,
		Consumer: a.consumers.Get(subject),
		Scopes:   scopes,
		Claims:   claims,
	}
	if id.Consumer != nil {
		// Clipped, so the groups claim appended below (or a later
		// policy) copies instead of writing into the consumer's array.
		id.Groups = slices.Clip(id.Consumer.Groups)
	}
	id.Groups = p.groups(id.Groups, claims)
	for _, f := range a.forward {
		v, ok := identity.LookupClaim(claims, f.claim)
		if !ok {
			continue
		}
		if s, ok := headerValue(v); ok {
			if id.Upstream == nil {
				id.Upstream = make(http.Header, len(a.forward))
			}
			id.Upstream[f.header] = []string{s} // f.header is canonical
		}
	}
	if !a.keep {
		a.strip(r, src)
	}
	return id, nil
}

// verify checks tok with the providers that may have issued it: those
// whose Issuer equals its (unverified) "iss", else those without an
// Issuer. When several fail, an unavailable one wins — the token may be
// good — and otherwise the first refusal is reported.
func (a *Authenticator) verify(ctx context.Context, tok string) (*Provider, jwt.MapClaims, error) {
	if len(a.providers) == 1 {
		p := a.providers[0]
		claims, err := p.Verify(ctx, tok)
		return p, claims, err
	}
	if len(tok) > MaxTokenLength {
		return nil, nil, ErrTokenTooLarge
	}
	candidates := a.byIssuer[peekIssuer(tok)]
	if len(candidates) == 0 {
		candidates = a.anyIssuer
	}
	if len(candidates) == 0 {
		return nil, nil, jwt.ErrTokenInvalidIssuer
	}
	var first error
	for _, p := range candidates {
		claims, err := p.Verify(ctx, tok)
		if err == nil {
			return p, claims, nil
		}
		if first == nil || (errors.Is(err, ErrKeysUnavailable) && !errors.Is(first, ErrKeysUnavailable)) {
			first = err
		}
	}
	return nil, nil, first
}

// peekIssuer reads "iss" without verifying anything: it only chooses the
// provider, which then requires that very issuer.
func peekIssuer(tok string) string {
	_, rest, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	payload, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// refusalDetail is the client-facing reason for a refused token: precise
// about time and issuer problems (which a client can act on), generic for
// anything about keys and signatures.
func refusalDetail(err error) string {
	switch {
	case errors.Is(err, ErrTokenTooLarge):
		return "token too large"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "invalid token"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "token not yet valid"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token issued in the future"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "token issuer not trusted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "token audience not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "token lacks a required claim"
	}
	return "invalid token"
}
