package config

import (
	"fmt"
	"slices"
	"strings"
)

// validator checks a defaulted Config. It resolves and loads files, so it
// also normalizes a few values in place (absolute paths, lower-cased hosts,
// upper-cased methods, explicit target ports).
type validator struct {
	set  map[any]Pos
	errs *collector
}

// at returns where the field behind ptr was given, or fallback when it was
// not (defaults, or decoding failed).
func (v *validator) at(ptr any, fallback Pos) Pos {
	if p, ok := v.set[ptr]; ok {
		return p
	}
	return fallback
}

func (v *validator) given(ptr any) bool {
	_, ok := v.set[ptr]
	return ok
}

// errorf reports a problem owned by owner (e.g. `route "users"`).
func (v *validator) errorf(p Pos, owner, hint, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if owner != "" {
		msg = owner + ": " + msg
	}
	v.errs.add(p, hint, "%s", msg)
}

func (v *validator) problem(p Pos, owner string, prob *problem) {
	if prob != nil {
		v.errorf(p, owner, prob.hint, "%s", prob.msg)
	}
}

func label(kind, name string) string {
	if name == "" {
		return "unnamed " + kind
	}
	return fmt.Sprintf("%s %q", kind, name)
}

// didYouMean renders a hint for a misspelt reference, or hint if there is
// no close candidate.
func didYouMean(word string, candidates []string, hint string) string {
	if s := suggest(word, candidates); s != "" {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return hint
}

// oneOf checks value against the allowed set, suggesting the closest.
func (v *validator) oneOf(p Pos, owner, key, value string, allowed []string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	v.errorf(p, owner, didYouMean(value, allowed, "use one of "+strings.Join(allowed, ", ")),
		"unknown %s %q", key, value)
	return false
}

// names checks an entity's name and uniqueness; first remembers where each
// name was defined.
func (v *validator) name(kind, name string, pos Pos, namePtr *string, first map[string]Pos) {
	switch {
	case name == "":
		v.errorf(pos, "", "add name: with letters, digits, '.', '_' or '-'", "%s has no name", kind)
	case !validName(name):
		v.errorf(v.at(namePtr, pos), "", "use letters, digits, '.', '_' or '-', starting with a letter or digit",
			"invalid %s name %q", kind, name)
	default:
		if prev, dup := first[name]; dup {
			v.errorf(v.at(namePtr, pos), "", "first defined at "+prev.String()+"; names must be unique",
				"%s %q is defined twice", kind, name)
			return
		}
		first[name] = v.at(namePtr, pos)
	}
}

func validate(c *Config, set map[any]Pos, errs *collector) {
	v := &validator{set: set, errs: errs}
	if len(c.Listeners) == 0 {
		file := ""
		if len(c.Files) > 0 {
			file = c.Files[0]
		}
		v.errorf(Pos{File: file}, "", "add a listeners: section, e.g. [{name: public, address: \":8080\"}]", "no listeners defined")
	}
	listenerNames := v.listeners(c)
	v.admin(c)
	v.global(c)
	upstreamNames := v.upstreams(c)
	v.routes(c, listenerNames, upstreamNames)
	v.l4Routes(c, upstreamNames)
	v.security(c)
	v.traffic(c)
	v.kubernetes(c.Kubernetes)
	v.versioning(c.Versioning)
}

var (
	logLevels      = []string{"debug", "info", "warn", "error"}
	balancers      = []string{"round_robin", "weighted_round_robin", "least_request", "least_connections", "random", "hash", "p2c_ewma"}
	listenerProtos = []string{"http", "https", "tcp", "tls", "udp"}
	upstreamProtos = []string{"auto", "http1", "http2"}
	tlsVersions    = []string{"1.2", "1.3"}
)

const (
	minHeaderBytes = 1 << 10
	maxHeaderBytes = 64 << 20
	maxWeight      = 10000
)

func (v *validator) listeners(c *Config) []string {
	first := make(map[string]Pos)
	addrs := make(map[string]Pos)
	var names []string
	for _, l := range c.Listeners {
		v.name("listener", l.Name, l.Pos, &l.Name, first)
		names = append(names, l.Name)
		owner := label("listener", l.Name)
		addrPos := v.at(&l.Address, l.Pos)
		if l.Address == "" {
			v.errorf(l.Pos, owner, "add address: host:port, e.g. \":8080\"", "address is required")
		} else if p := checkAddress(l.Address); p != nil {
			v.problem(addrPos, owner, p)
		} else if addressPort(l.Address) != 0 { // port 0: each bind gets its own port
			key := canonicalAddress(l.Address)
			if prev, dup := addrs[key]; dup {
				v.errorf(addrPos, owner, "first used at "+prev.String()+"; each listener needs its own address",
					"address %s is already used by another listener", l.Address)
			} else {
				addrs[key] = addrPos
			}
		}

		protoPos := v.at(&l.Protocol, l.Pos)
		switch l.Protocol {
		case "http", "https", "tcp", "tls", "udp":
		default:
			v.oneOf(protoPos, owner, "protocol", l.Protocol, listenerProtos)
		}
		v.l4Listener(l, owner)
		https := l.Protocol == "https" || l.Protocol == "tls"
		if l.H2C && l.Protocol != "http" {
			v.errorf(v.at(&l.H2C, l.Pos), owner, "https listeners offer HTTP/2 through ALPN (http2: true); remove h2c",
				"h2c is only for plain http listeners")
		}
		if l.HTTP2 && l.Protocol != "https" {
			v.errorf(v.at(&l.HTTP2, l.Pos), owner, "use h2c: true for cleartext HTTP/2",
				"http2 applies to https listeners only")
		}
		switch {
		case https && l.TLS == nil:
			v.errorf(protoPos, owner, "add tls: {certificates: [{cert_file: ..., key_file: ...}]}", "%s listener needs tls", l.Protocol)
		case !https && l.TLS != nil:
			v.errorf(v.at(&l.TLS, l.Pos), owner, "set protocol: https or tls, or remove tls", "tls is set on an %s listener", l.Protocol)
		case https:
			v.listenerTLS(l, owner)
		}
		if isHTTPListener(l) && (l.MaxHeaderBytes < minHeaderBytes || l.MaxHeaderBytes > maxHeaderBytes) {
			v.errorf(v.at(&l.MaxHeaderBytes, l.Pos), owner, "use a size between 1KiB and 64MiB, e.g. 64KiB",
				"max_header_bytes %d is out of range", l.MaxHeaderBytes)
		}
	}
	return names
}

func (v *validator) listenerTLS(l *Listener, owner string) {
	t := l.TLS
	tlsPos := v.at(&l.TLS, l.Pos)
	if len(t.Certificates) == 0 {
		v.errorf(tlsPos, owner, "add certificates: [{cert_file: cert.pem, key_file: key.pem}]",
			"tls needs at least one certificate")
	}
	v.oneOf(v.at(&t.MinVersion, tlsPos), owner, "min_version", t.MinVersion, tlsVersions)
	if t.ClientAuth != nil {
		v.clientAuth(l, owner)
	}
	for i := range t.Certificates {
		cert := &t.Certificates[i]
		if cert.CertFile == "" || cert.KeyFile == "" {
			v.errorf(cert.Pos, owner, "give both cert_file and key_file", "certificate needs cert_file and key_file")
			continue
		}
		cert.CertFile = resolvePath(cert.CertFile, v.at(&cert.CertFile, cert.Pos))
		cert.KeyFile = resolvePath(cert.KeyFile, v.at(&cert.KeyFile, cert.Pos))
		v.problem(v.at(&cert.CertFile, cert.Pos), owner, checkKeyPair(cert.CertFile, cert.KeyFile))
	}
}

func (v *validator) admin(c *Config) {
	a := c.Admin
	if a == nil {
		return
	}
	addrPos := v.at(&a.Address, a.Pos)
	switch {
	case a.Address == "":
		v.errorf(a.Pos, "admin", "add address: 127.0.0.1:9901", "address is required")
	case checkAddress(a.Address) != nil:
		v.problem(addrPos, "admin", checkAddress(a.Address))
	case addressPort(a.Address) != 0:
		for _, l := range c.Listeners {
			if canonicalAddress(l.Address) == canonicalAddress(a.Address) {
				v.errorf(addrPos, "admin", "give the admin API its own port, e.g. 127.0.0.1:9901",
					"address %s is already used by listener %q", a.Address, l.Name)
			}
		}
	}
}

// global checks the singleton sections.
func (v *validator) global(c *Config) {
	v.oneOf(v.at(&c.Log.Level, Pos{}), "log", "level", c.Log.Level, logLevels)
	if p := c.AccessLog.Path; p != "stdout" && p != "stderr" {
		c.AccessLog.Path = resolvePath(p, v.at(&c.AccessLog.Path, Pos{}))
	}
	if c.Runtime.GCPercent < -1 {
		v.errorf(v.at(&c.Runtime.GCPercent, Pos{}), "runtime", "use -1 to turn the GC off, or a percentage such as 400",
			"gc_percent %d is out of range", c.Runtime.GCPercent)
	}
}

func (v *validator) upstreams(c *Config) []string {
	first := make(map[string]Pos)
	var names []string
	for _, u := range c.Upstreams {
		v.name("upstream", u.Name, u.Pos, &u.Name, first)
		names = append(names, u.Name)
		owner := label("upstream", u.Name)
		v.oneOf(v.at(&u.Balance, u.Pos), owner, "balance", u.Balance, balancers)
		v.oneOf(v.at(&u.Protocol, u.Pos), owner, "protocol", u.Protocol, upstreamProtos)
		if u.MaxIdlePerTarget < 0 {
			v.errorf(v.at(&u.MaxIdlePerTarget, u.Pos), owner, "use 0 to keep no idle connections",
				"max_idle_per_target must not be negative")
		}
		if len(u.Targets) == 0 {
			v.errorf(u.Pos, owner, "add targets: [{url: \"http://10.0.0.1:8080\"}]", "upstream has no targets")
		}
		urls := make(map[string]Pos)
		live := false
		for _, t := range u.Targets {
			urlPos := v.at(&t.URL, t.Pos)
			if t.URL == "" {
				v.errorf(t.Pos, owner, "add url: http://host:port", "target has no url")
			} else if norm, p := normalizeTargetURL(t.URL); p != nil {
				v.problem(urlPos, owner, p)
			} else {
				t.URL = norm
				if prev, dup := urls[norm]; dup {
					v.errorf(urlPos, owner, "first listed at "+prev.String()+"; use weight to send it more traffic",
						"target %s is listed twice", norm)
				}
				urls[norm] = urlPos
			}
			if t.Weight < 0 || t.Weight > maxWeight {
				v.errorf(v.at(&t.Weight, t.Pos), owner, fmt.Sprintf("use 0..%d; 0 sends no traffic", maxWeight),
					"weight %d is out of range", t.Weight)
			}
			live = live || t.Weight > 0
			if t.RequestHeaders != nil {
				v.headerFilter(t.RequestHeaders, t.Pos, owner)
				v.literalTemplates(t.RequestHeaders, t.Pos, owner)
			}
		}
		if len(u.Targets) > 0 && !live {
			v.errorf(u.Pos, owner, "give at least one target a weight above 0", "every target has weight 0, so no request can be served")
		}
		if u.TLS != nil {
			v.upstreamTLS(u, owner)
		}
		v.resilience(u, owner)
		v.upstreamL4(u, owner)
	}
	return names
}

func (v *validator) upstreamTLS(u *Upstream, owner string) {
	t := u.TLS
	tlsPos := v.at(&u.TLS, u.Pos)
	if t.CAFile != "" {
		t.CAFile = resolvePath(t.CAFile, v.at(&t.CAFile, tlsPos))
		v.problem(v.at(&t.CAFile, tlsPos), owner, checkCAFile(t.CAFile))
	}
	if t.ServerName != "" && !ValidHostname(strings.ToLower(t.ServerName)) {
		v.errorf(v.at(&t.ServerName, tlsPos), owner, "use the DNS name in the target's certificate",
			"invalid server_name %q", t.ServerName)
	}
	v.subjectAltNames(t, tlsPos, owner)
	switch {
	case t.CertFile == "" && t.KeyFile == "":
	case t.CertFile == "" || t.KeyFile == "":
		v.errorf(tlsPos, owner, "a client certificate needs both cert_file and key_file", "tls has only one of cert_file and key_file")
	default:
		t.CertFile = resolvePath(t.CertFile, v.at(&t.CertFile, tlsPos))
		t.KeyFile = resolvePath(t.KeyFile, v.at(&t.KeyFile, tlsPos))
		v.problem(v.at(&t.CertFile, tlsPos), owner, checkKeyPair(t.CertFile, t.KeyFile))
	}
}
