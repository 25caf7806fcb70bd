package translate

import (
	"encoding/hex"
	"fmt"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/policy/apikey"
	"github.com/gatehouse/gatehouse/internal/policy/auth"
	"github.com/gatehouse/gatehouse/internal/policy/authz"
	"github.com/gatehouse/gatehouse/internal/policy/basicauth"
	"github.com/gatehouse/gatehouse/internal/policy/extauth"
	"github.com/gatehouse/gatehouse/internal/policy/introspect"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
	"github.com/gatehouse/gatehouse/internal/policy/mtlsauth"
)

// authMethod translates one authentication section of a route into its
// method and the headers that method sets upstream (which clients must
// never send). It returns a nil method when the route does not use it.
type authMethod func(b *routeBuild) (m identity.Authenticator, sets []string, err error)

// authMethods are tried in this order: the cheap, local methods first;
// ext_auth, which always decides, last.
var authMethods = []authMethod{mtlsMethod, apiKeyMethod, jwtMethod, introspectionMethod, basicMethod, extAuthMethod}

// buildAuthentication is the authentication and authorization layer.
func buildAuthentication(b *routeBuild) (layer, error) {
	p := b.p
	if !p.HasAuthentication() {
		return nil, nil
	}
	c := auth.Config{Optional: p.AuthOptional}
	if p.ConsumerHeaders != nil {
		c.Headers = []auth.IdentityHeader{}
		for name, field := range p.ConsumerHeaders {
			c.Headers = append(c.Headers, auth.IdentityHeader{Header: name, Field: field})
		}
	}
	for _, am := range authMethods {
		m, sets, err := am(b)
		if err != nil {
			return nil, err
		}
		if m != nil {
			c.Methods = append(c.Methods, m)
			c.Strip = append(c.Strip, sets...)
		}
	}
	if z := p.Authorize; z != nil {
		az, err := authz.New(authz.Config{AnyGroups: z.AnyGroups, AllGroups: z.AllGroups, AnyScopes: z.AnyScopes,
			AllScopes: z.AllScopes, Claims: z.Claims, Consumers: z.Consumers})
		if err != nil {
			return nil, policyErr(z.Pos, "authorize", err)
		}
		c.Authorize = az
	}
	return auth.New(c).Wrap, nil
}

func mtlsMethod(b *routeBuild) (identity.Authenticator, []string, error) {
	mc := b.p.MTLS
	if mc == nil {
		return nil, nil, nil
	}
	var maps []mtlsauth.Mapping
	for _, c := range b.env.Config.Consumers {
		for _, m := range c.Certificates {
			maps = append(maps, mtlsauth.Mapping{Subject: m.Subject, CommonName: m.CommonName, DNSName: m.DNSName, URI: m.URI, Email: m.Email, Consumer: c.Name})
		}
	}
	m, err := mtlsauth.New(mtlsauth.Config{Mappings: maps, Consumers: b.env.Consumers, RequireMapping: mc.RequireMapping,
		ForwardHeader: mc.ForwardHeader})
	if err != nil {
		return nil, nil, policyErr(mc.Pos, "mtls", err)
	}
	var sets []string
	if mc.ForwardHeader != "" {
		sets = []string{mc.ForwardHeader}
	}
	return m, sets, nil
}

func apiKeyMethod(b *routeBuild) (identity.Authenticator, []string, error) {
	k := b.p.APIKey
	if k == nil {
		return nil, nil, nil
	}
	static := map[[32]byte]string{}
	for _, c := range b.env.Config.Consumers {
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
		Store: b.env.Keys, Consumers: b.env.Consumers, HideCredentials: k.HideCredentials, Realm: "gatehouse"})
	if err != nil {
		return nil, nil, policyErr(k.Pos, "api_key", err)
	}
	return m, nil, nil
}

func jwtMethod(b *routeBuild) (identity.Authenticator, []string, error) {
	j := b.p.JWT
	if j == nil {
		return nil, nil, nil
	}
	var provs []*jwtauth.Provider
	for _, name := range j.Providers {
		pv, err := b.env.JWT(name, &b.env.provider(name).JWTIssuer)
		if err != nil {
			return nil, nil, fmt.Errorf("jwt provider %q: %w", name, err)
		}
		provs = append(provs, pv)
	}
	if j.Given() {
		pv, err := b.env.JWT(b.r.Name, &j.JWTIssuer)
		if err != nil {
			return nil, nil, policyErr(j.Pos, "jwt", err)
		}
		provs = append(provs, pv)
	}
	m, err := jwtauth.New(jwtauth.Config{Providers: provs, Consumers: b.env.Consumers, Header: j.Header, Query: j.Query, Cookie: j.Cookie,
		Realm: "gatehouse", RequiredClaims: j.RequiredClaims, RequiredScopes: j.RequiredScopes, ForwardClaims: j.ForwardClaims,
		KeepAuthorization: j.KeepAuthorization})
	if err != nil {
		return nil, nil, policyErr(j.Pos, "jwt", err)
	}
	var sets []string
	for _, h := range j.ForwardClaims { // claim -> header
		sets = append(sets, h)
	}
	return m, sets, nil
}

func introspectionMethod(b *routeBuild) (identity.Authenticator, []string, error) {
	in := b.p.Introspection
	if in == nil {
		return nil, nil, nil
	}
	m, err := introspect.New(introspect.Config{Endpoint: in.Endpoint, ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		TokenTypeHint: in.TokenTypeHint, Timeout: in.Timeout, CacheTTL: in.CacheTTL, RequiredScopes: in.RequiredScopes,
		Audiences: in.Audiences, Issuer: in.Issuer, ConsumerField: in.ConsumerField, Consumers: b.env.Consumers,
		Realm: "gatehouse", KeepAuthorization: in.KeepAuthorization, Header: in.Header, Query: in.Query, Cookie: in.Cookie})
	if err != nil {
		return nil, nil, policyErr(in.Pos, "introspection", err)
	}
	return m, nil, nil
}

func basicMethod(b *routeBuild) (identity.Authenticator, []string, error) {
	ba := b.p.BasicAuth
	if ba == nil {
		return nil, nil, nil
	}
	var users []basicauth.User
	for _, c := range b.env.Config.Consumers {
		if c.BasicAuth != nil {
			users = append(users, basicauth.User{Name: c.BasicAuth.Username, Hash: []byte(c.BasicAuth.PasswordHash), Consumer: c.Name})
		}
	}
	m, err := basicauth.New(basicauth.Config{Users: users, HtpasswdFile: ba.HtpasswdFile, Realm: ba.Realm,
		Consumers: b.env.Consumers, HideCredentials: ba.HideCredentials})
	if err != nil {
		return nil, nil, policyErr(ba.Pos, "basic_auth", err)
	}
	return m, nil, nil
}

func extAuthMethod(b *routeBuild) (identity.Authenticator, []string, error) {
	e := b.p.ExtAuth
	if e == nil {
		return nil, nil, nil
	}
	m, err := extauth.New(extauth.Config{URL: e.URL, Timeout: e.Timeout, RequestHeaders: e.RequestHeaders,
		UpstreamHeaders: e.UpstreamHeaders, ClientHeaders: e.ClientHeaders, SubjectHeader: e.SubjectHeader, Consumers: b.env.Consumers})
	if err != nil {
		return nil, nil, policyErr(e.Pos, "ext_auth", err)
	}
	return m, e.UpstreamHeaders, nil
}
