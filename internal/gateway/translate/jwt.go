package translate

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
)

// JWTProvider translates a JWT issuer's configuration (a named provider
// or a route's inline one) into a provider's.
func JWTProvider(name string, j *config.JWTIssuer) jwtauth.ProviderConfig {
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
	return pc
}
