package config

import (
	"encoding/hex"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

var (
	jwtAlgorithms   = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	wafModes        = []string{"block", "detect"}
	clientAuthModes = []string{"request", "require"}
	identityFields  = []string{"name", "subject", "groups", "scopes", "method", "plan", "metadata.KEY"}
)

// Warning is a configuration choice that works but should be changed,
// such as a plain API key in the file. The gateway logs each one.
type Warning struct {
	Pos Pos
	Msg string
}

func (w Warning) String() string { return w.Pos.String() + ": " + w.Msg }

// security checks consumers, JWT providers, the store, mTLS and every
// route's policies. It returns the JWT provider names for reference checks.
func (v *validator) security(c *Config) {
	v.store(c)
	consumerNames := v.consumers(c)
	providers := v.jwtProviders(c)
	for _, r := range c.Routes {
		if r.Policies != nil {
			v.policies(c, r, providers, consumerNames)
		}
	}
	if c.DataDir != "" {
		c.DataDir = resolvePath(c.DataDir, v.at(&c.DataDir, Pos{File: c.FirstFile()}))
	}
}

// FirstFile is the first configuration file read ("" for Parse): where
// errors about the configuration as a whole point.
func (c *Config) FirstFile() string {
	if len(c.Files) > 0 {
		return c.Files[0]
	}
	return ""
}

func (v *validator) store(c *Config) {
	if c.Store == nil || c.Store.Redis == nil {
		return
	}
	r := c.Store.Redis
	if len(r.Addrs) == 0 {
		v.errorf(r.Pos, "store", "add addrs: [\"127.0.0.1:6379\"]", "redis needs at least one address")
	}
	for i, a := range r.Addrs {
		v.problem(v.at(&r.Addrs[i], r.Pos), "store", checkAddress(a))
	}
	if r.DB < 0 || r.PoolSize < 0 || r.Timeout < 0 {
		v.errorf(r.Pos, "store", "", "redis db, pool_size and timeout must not be negative")
	}
	if r.TLS != nil && r.TLS.CAFile != "" {
		r.TLS.CAFile = resolvePath(r.TLS.CAFile, v.at(&r.TLS.CAFile, r.Pos))
		v.problem(v.at(&r.TLS.CAFile, r.Pos), "store", checkCAFile(r.TLS.CAFile))
	}
}

func (v *validator) consumers(c *Config) []string {
	first := make(map[string]Pos)
	var names []string
	users := make(map[string]Pos)
	hashes := make(map[string]Pos)
	for _, cs := range c.Consumers {
		v.name("consumer", cs.Name, cs.Pos, &cs.Name, first)
		names = append(names, cs.Name)
		owner := label("consumer", cs.Name)
		for _, k := range cs.APIKeys {
			switch {
			case (k.KeyHash == "") == (k.Key == ""):
				v.errorf(k.Pos, owner, "give key_hash: (hex SHA-256, e.g. from `printf %s KEY | sha256sum`) or key:",
					"an api key needs exactly one of key_hash and key")
				continue
			case k.Key != "":
				if len(k.Key) < 16 {
					v.errorf(v.at(&k.Key, k.Pos), owner, "use at least 16 random characters", "api key is too short")
				}
				c.Warnings = append(c.Warnings, Warning{v.at(&k.Key, k.Pos),
					owner + ": plain api key in the configuration; store key_hash (hex SHA-256) instead"})
			default:
				k.KeyHash = strings.ToLower(k.KeyHash)
				if b, err := hex.DecodeString(k.KeyHash); err != nil || len(b) != 32 {
					v.errorf(v.at(&k.KeyHash, k.Pos), owner, "64 hex digits: the SHA-256 of the key", "invalid key_hash")
					continue
				}
			}
			h := k.KeyHash
			if h == "" {
				h = "plain:" + k.Key
			}
			if prev, dup := hashes[h]; dup {
				v.errorf(k.Pos, owner, "first given at "+prev.String()+"; a key identifies one consumer", "api key is given twice")
			}
			hashes[h] = k.Pos
		}
		if b := cs.BasicAuth; b != nil {
			switch {
			case b.Username == "" || strings.Contains(b.Username, ":"):
				v.errorf(b.Pos, owner, "a username without ':'", "basic_auth needs a username")
			case !isBcrypt(b.PasswordHash):
				v.errorf(v.at(&b.PasswordHash, b.Pos), owner, "use a bcrypt hash, e.g. from `htpasswd -nbB user pass`",
					"basic_auth password_hash is not a bcrypt hash")
			}
			if prev, dup := users[b.Username]; dup {
				v.errorf(b.Pos, owner, "first given at "+prev.String(), "basic_auth username %q is used twice", b.Username)
			}
			users[b.Username] = b.Pos
		}
		for _, m := range cs.Certificates {
			if m.Subject == "" && m.CommonName == "" && m.DNSName == "" && m.URI == "" && m.Email == "" {
				v.errorf(m.Pos, owner, "give subject, common_name, dns_name, uri or email", "certificate match is empty")
			}
		}
	}
	return names
}

func isBcrypt(h string) bool {
	return len(h) == 60 && (strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$"))
}

func (v *validator) jwtProviders(c *Config) []string {
	first := make(map[string]Pos)
	var names []string
	for _, p := range c.JWTProviders {
		v.name("jwt provider", p.Name, p.Pos, &p.Name, first)
		names = append(names, p.Name)
		owner := label("jwt provider", p.Name)
		if !p.Given() {
			v.errorf(p.Pos, owner, "give secret:, keys: or jwks_url:", "no verification key")
		}
		v.issuer(&p.JWTIssuer, p.Pos, owner)
	}
	return names
}

func (v *validator) issuer(j *JWTIssuer, pos Pos, owner string) {
	for i, a := range j.Algorithms {
		if strings.EqualFold(a, "none") {
			v.errorf(v.at(&j.Algorithms[i], pos), owner, "unsigned tokens are never accepted", "algorithm none is not allowed")
			continue
		}
		v.oneOf(v.at(&j.Algorithms[i], pos), owner, "algorithm", a, jwtAlgorithms)
	}
	slices.Sort(j.Algorithms)
	j.Algorithms = slices.Compact(j.Algorithms)
	if j.JWKSURL != "" {
		v.absoluteURL(j.JWKSURL, v.at(&j.JWKSURL, pos), owner, "jwks_url")
	}
	if j.Secret != "" {
		v.hmacSecret(j.Secret, v.at(&j.Secret, pos), owner)
	}
	for _, k := range j.Keys {
		given := 0
		for _, f := range []string{k.File, k.Inline, k.Secret} {
			if f != "" {
				given++
			}
		}
		switch {
		case given != 1:
			v.errorf(k.Pos, owner, "give file: (a PEM public key or certificate), pem: (the same inline) or secret:",
				"a key needs exactly one of file, pem and secret")
		case k.Secret != "":
			v.hmacSecret(k.Secret, v.at(&k.Secret, k.Pos), owner)
		default:
			data, pos, what := []byte(k.Inline), v.at(&k.Inline, k.Pos), "pem"
			if k.File != "" {
				k.File = resolvePath(k.File, v.at(&k.File, k.Pos))
				pos, what = v.at(&k.File, k.Pos), "key file "+k.File
				var err error
				if data, err = readFile(k.File); err != nil {
					v.problem(pos, owner, readProblem("key file", k.File, err))
					continue
				}
			}
			if !strings.Contains(string(data), "-----BEGIN ") {
				v.errorf(pos, owner, "a PEM public key or certificate", "%s is not PEM", what)
			}
			if strings.Contains(string(data), "PRIVATE KEY") {
				v.errorf(pos, owner, "give the public key; the gateway only verifies", "%s holds a private key", what)
			}
			k.PEM = data
		}
	}
	if j.Leeway < 0 || j.JWKSRefresh < 0 || j.JWKSMinRefresh < 0 {
		v.errorf(pos, owner, "", "leeway and jwks intervals must not be negative")
	}
}

func (v *validator) policies(c *Config, r *Route, providers, consumers []string) {
	p := r.Policies
	owner := label("route", r.Name)
	if f := p.IPFilter; f != nil && len(f.Allow) == 0 && len(f.Deny) == 0 {
		v.errorf(f.Pos, owner, "give allow: and/or deny: CIDR lists", "ip_filter is empty")
	}
	if l := p.RequestLimits; l != nil {
		if l.MaxBodyBytes < 0 || l.MaxHeaderCount < 0 || l.MaxHeaderBytes < 0 {
			v.errorf(l.Pos, owner, "", "request_limits must not be negative")
		}
	}
	if cs := p.CORS; cs != nil {
		if len(cs.AllowOrigins) == 0 && len(cs.AllowOriginRegex) == 0 {
			v.errorf(cs.Pos, owner, "give allow_origins: or allow_origin_regex:", "cors allows no origin")
		}
		if cs.AllowCredentials && slices.Contains(cs.AllowOrigins, "*") {
			v.errorf(cs.Pos, owner, "list the origins explicitly", "cors: allow_credentials cannot be used with origin \"*\"")
		}
		for i, re := range cs.AllowOriginRegex {
			if _, err := regexp.Compile(re); err != nil {
				v.errorf(v.at(&cs.AllowOriginRegex[i], cs.Pos), owner, "RE2 syntax", "invalid allow_origin_regex: %s", regexpReason(err))
			}
		}
	}
	if w := p.WAF; w != nil {
		v.oneOf(v.at(&w.Mode, w.Pos), owner, "waf mode", w.Mode, wafModes)
		if w.ParanoiaLevel < 1 || w.ParanoiaLevel > 4 {
			v.errorf(v.at(&w.ParanoiaLevel, w.Pos), owner, "1 (default) to 4", "paranoia_level %d is out of range", w.ParanoiaLevel)
		}
		if w.AnomalyThreshold < 1 {
			v.errorf(v.at(&w.AnomalyThreshold, w.Pos), owner, "5 is the CRS default", "anomaly_threshold must be at least 1")
		}
		if w.RequestBodyLimit < 0 {
			v.errorf(v.at(&w.RequestBodyLimit, w.Pos), owner, "", "request_body_limit must not be negative")
		}
	}
	if j := p.JWT; j != nil {
		for i, name := range j.Providers {
			if !slices.Contains(providers, name) {
				v.errorf(v.at(&j.Providers[i], j.Pos), owner, didYouMean(name, providers, "define it under jwt_providers:"),
					"jwt provider %q not found", name)
			}
		}
		if j.Given() {
			v.issuer(&j.JWTIssuer, j.Pos, owner)
		} else if len(j.Providers) == 0 {
			v.errorf(j.Pos, owner, "name providers: [...] or give jwks_url:, keys: or secret: inline", "jwt has no provider")
		}
	}
	if b := p.BasicAuth; b != nil && b.HtpasswdFile != "" {
		b.HtpasswdFile = resolvePath(b.HtpasswdFile, v.at(&b.HtpasswdFile, b.Pos))
		if _, err := readFile(b.HtpasswdFile); err != nil {
			v.problem(v.at(&b.HtpasswdFile, b.Pos), owner, readProblem("htpasswd_file", b.HtpasswdFile, err))
		}
	}
	if in := p.Introspection; in != nil {
		v.absoluteURL(in.Endpoint, v.at(&in.Endpoint, in.Pos), owner, "introspection endpoint")
		if in.ClientID == "" {
			v.errorf(in.Pos, owner, "the gateway authenticates to the endpoint with client_id and client_secret", "introspection needs client_id")
		}
	}
	if e := p.ExtAuth; e != nil {
		v.absoluteURL(e.URL, v.at(&e.URL, e.Pos), owner, "ext_auth url")
	}
	if p.MTLS != nil {
		names := r.Listeners
		if len(names) == 0 {
			for _, l := range c.Listeners {
				names = append(names, l.Name)
			}
		}
		for _, l := range c.Listeners {
			if slices.Contains(names, l.Name) && (l.TLS == nil || l.TLS.ClientAuth == nil) {
				v.errorf(p.MTLS.Pos, owner, "attach the route only to https listeners with tls.client_auth",
					"mtls on listener %q, which does not verify client certificates", l.Name)
			}
		}
	}
	if a := p.Authorize; a != nil {
		if len(a.AnyGroups)+len(a.AllGroups)+len(a.AnyScopes)+len(a.AllScopes)+len(a.Claims)+len(a.Consumers) == 0 {
			v.errorf(a.Pos, owner, "give any_groups, all_groups, any_scopes, all_scopes, claims or consumers", "authorize is empty")
		}
		for i, name := range a.Consumers {
			if !slices.Contains(consumers, name) {
				v.errorf(v.at(&a.Consumers[i], a.Pos), owner, didYouMean(name, consumers, "define it under consumers:"),
					"consumer %q not found", name)
			}
		}
		if !p.HasAuthentication() {
			v.errorf(a.Pos, owner, "add an authentication policy (api_key, jwt, basic_auth, introspection, ext_auth, mtls)",
				"authorize needs an authentication policy")
		}
	}
	if p.ConsumerHeaders != nil {
		if !p.HasAuthentication() {
			v.errorf(p.Pos, owner, "add an authentication policy", "consumer_headers without an authentication policy")
		}
		for name, field := range p.ConsumerHeaders {
			pos := v.at(mapEntry{&p.ConsumerHeaders, name}, p.Pos)
			if !validToken(name) {
				v.errorf(pos, owner, "a header name such as X-Consumer-Id", "invalid header name %q in consumer_headers", name)
			}
			if _, ok := strings.CutPrefix(field, "metadata."); !ok || field == "metadata." {
				v.oneOf(pos, owner, "consumer_headers field", field, identityFields)
			}
		}
	}
	if p.AuthOptional && !p.HasAuthentication() {
		v.errorf(p.Pos, owner, "", "auth_optional without an authentication policy")
	}
}

// HasAuthentication reports whether any authentication method is set.
func (p *Policies) HasAuthentication() bool {
	return p.APIKey != nil || p.JWT != nil || p.BasicAuth != nil || p.Introspection != nil || p.ExtAuth != nil || p.MTLS != nil
}

// hmacSecret refuses HMAC keys shorter than the hash (RFC 7518 §3.2).
func (v *validator) hmacSecret(secret string, pos Pos, owner string) {
	if len(secret) < 32 {
		v.errorf(pos, owner, "use at least 32 random bytes (RFC 7518 §3.2)", "HMAC secret is too short")
	}
}

func (v *validator) absoluteURL(raw string, pos Pos, owner, what string) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(pos, owner, "an absolute http(s) URL", "invalid %s %q", what, raw)
	}
}

// clientAuth checks a listener's mTLS settings.
func (v *validator) clientAuth(l *Listener, owner string) {
	ca := l.TLS.ClientAuth
	v.oneOf(v.at(&ca.Mode, ca.Pos), owner, "client_auth mode", ca.Mode, clientAuthModes)
	if ca.CAFile == "" {
		v.errorf(ca.Pos, owner, "give ca_file: the CA bundle client certificates must chain to", "client_auth needs ca_file")
		return
	}
	ca.CAFile = resolvePath(ca.CAFile, v.at(&ca.CAFile, ca.Pos))
	v.problem(v.at(&ca.CAFile, ca.Pos), owner, checkCAFile(ca.CAFile))
}
