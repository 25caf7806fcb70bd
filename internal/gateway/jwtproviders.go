package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
)

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
	pc := translate.JWTProvider(name, j)
	p, err := jwtauth.NewProvider(pc, g.log.With("jwt_provider", name))
	if err != nil {
		return nil, err
	}
	ps.jwt[fp] = p
	return p, nil
}
