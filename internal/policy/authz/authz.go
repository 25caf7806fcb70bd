// Package authz decides whether an authenticated identity may use a
// route: group, scope, claim and consumer requirements, all of which must
// hold. It runs after authentication and reads only identity.Identity.
package authz

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

// Config lists a route's requirements. Every non-empty one must hold;
// a Config with none admits any authenticated identity.
type Config struct {
	// AnyGroups: the identity must be in at least one; AllGroups: in each.
	AnyGroups []string
	AllGroups []string
	// AnyScopes: the identity must have at least one; AllScopes: each.
	AnyScopes []string
	AllScopes []string
	// Claims maps a claim name to accepted values: a string claim must
	// equal one of them, an array claim must contain one. Booleans and
	// numbers are compared in their JSON form ("true", "42"). A name with
	// dots ("realm_access.roles") is looked up as given first, then as a
	// path through nested objects.
	Claims map[string][]string
	// Consumers, when set, are the configured consumer names allowed. An
	// identity with no configured consumer (a JWT for an unlisted user)
	// is refused: its Subject is not a consumer name even if it looks
	// like one.
	Consumers []string
}

// Authz is a compiled Config. It is safe for concurrent use.
type Authz struct {
	anyGroups, allGroups []string
	anyScopes, allScopes []string
	claims               []claimRule
	consumers            map[string]struct{}
	// Precomputed insufficient_scope challenges.
	anyScopeChallenge, allScopeChallenge string
}

type claimRule struct {
	name   string
	values []string
}

// New compiles cfg, refusing empty names and scopes that cannot be sent
// in a WWW-Authenticate challenge (RFC 6749 §3.3 scope-token syntax).
func New(cfg Config) (*Authz, error) {
	a := &Authz{}
	var err error
	if a.anyGroups, err = names("any_groups", cfg.AnyGroups); err != nil {
		return nil, err
	}
	if a.allGroups, err = names("all_groups", cfg.AllGroups); err != nil {
		return nil, err
	}
	if a.anyScopes, err = scopes("any_scopes", cfg.AnyScopes); err != nil {
		return nil, err
	}
	if a.allScopes, err = scopes("all_scopes", cfg.AllScopes); err != nil {
		return nil, err
	}
	a.anyScopeChallenge = challenge(a.anyScopes)
	a.allScopeChallenge = challenge(a.allScopes)
	for name, values := range cfg.Claims {
		if name == "" {
			return nil, errors.New("authz: claims: empty claim name")
		}
		if len(values) == 0 {
			return nil, fmt.Errorf("authz: claims[%q]: no accepted values", name)
		}
		a.claims = append(a.claims, claimRule{name: name, values: values})
	}
	// Map order is random; a fixed order keeps refusals reproducible.
	slices.SortFunc(a.claims, func(x, y claimRule) int { return strings.Compare(x.name, y.name) })
	if cfg.Consumers != nil {
		cs, err := names("consumers", cfg.Consumers)
		if err != nil {
			return nil, err
		}
		if len(cs) == 0 {
			return nil, errors.New("authz: consumers: empty list would refuse everyone; omit it instead")
		}
		a.consumers = make(map[string]struct{}, len(cs))
		for _, c := range cs {
			a.consumers[c] = struct{}{}
		}
	}
	return a, nil
}

func names(field string, ss []string) ([]string, error) {
	for i, s := range ss {
		if s == "" {
			return nil, fmt.Errorf("authz: %s[%d]: empty name", field, i)
		}
	}
	return ss, nil
}

func scopes(field string, ss []string) ([]string, error) {
	for i, s := range ss {
		if s == "" {
			return nil, fmt.Errorf("authz: %s[%d]: empty scope", field, i)
		}
		if !credential.ValidScope(s) {
			return nil, fmt.Errorf("authz: %s[%d]: %q is not a valid scope", field, i, s)
		}
	}
	return ss, nil
}

func challenge(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return credential.InsufficientScope("Bearer", ss)
}

// Check returns nil when id may pass. A nil id gets a 401 *identity.Error
// (nobody authenticated; the gateway adds the route's authentication
// challenge). An identity that fails a requirement gets a 403
// *identity.Error whose Detail names the kind of requirement; when a
// scope requirement failed its Challenge is RFC 6750's
// `Bearer error="insufficient_scope", scope="..."` listing the scopes
// of the failed requirement (AllScopes if both fail). Err, for the log,
// names the missing value.
func (a *Authz) Check(id *identity.Identity) error {
	if id == nil {
		return identity.Unauthorized("authentication required", "", nil)
	}
	if a.consumers != nil {
		ok := false
		if id.Consumer != nil {
			_, ok = a.consumers[id.Consumer.Name]
		}
		if !ok {
			return forbidden("the consumer is not allowed on this route", "", "consumer %q not listed", id.Name())
		}
	}
	for _, g := range a.allGroups {
		if !id.InGroup(g) {
			return forbidden("a required group is missing", "", "not in group %q", g)
		}
	}
	if len(a.anyGroups) > 0 && !anyOf(a.anyGroups, id.InGroup) {
		return forbidden("a required group is missing", "", "in none of groups %q", a.anyGroups)
	}
	for _, s := range a.allScopes {
		if !id.HasScope(s) {
			return forbidden("a required scope is missing", a.allScopeChallenge, "missing scope %q", s)
		}
	}
	if len(a.anyScopes) > 0 && !anyOf(a.anyScopes, id.HasScope) {
		return forbidden("a required scope is missing", a.anyScopeChallenge, "none of scopes %q", a.anyScopes)
	}
	for i := range a.claims {
		r := &a.claims[i]
		if v, ok := identity.LookupClaim(id.Claims, r.name); !ok || !identity.ClaimMatches(v, r.values) {
			return forbidden("a required claim is missing or has a value not allowed", "", "claim %q", r.name)
		}
	}
	return nil
}

func anyOf(ss []string, has func(string) bool) bool {
	for _, s := range ss {
		if has(s) {
			return true
		}
	}
	return false
}

// forbidden builds a 403. Refusals allocate; the pass path does not.
func forbidden(detail, challenge, format string, args ...any) *identity.Error {
	return &identity.Error{
		Status:    http.StatusForbidden,
		Detail:    detail,
		Challenge: challenge,
		Err:       fmt.Errorf(format, args...),
	}
}
