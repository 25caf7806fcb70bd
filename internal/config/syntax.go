package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Syntax checks for the small languages inside values: names, addresses,
// host patterns, HTTP tokens, path templates and target URLs.

// validName reports whether s is [A-Za-z0-9][A-Za-z0-9._-]*: safe in
// metric labels, log fields and admin API paths without escaping.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && (i == 0 || (c != '.' && c != '_' && c != '-')) {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token (header names,
// methods).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// validHeaderValue rejects the bytes that would split or truncate a header
// (response splitting); everything else is passed through.
func validHeaderValue(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00")
}

// ValidHostname is a DNS-ish check (the one every host, SNI and
// server_name in the configuration passes): lower-case letters, digits, '-' and
// '_' in non-empty labels of at most 63 bytes, 253 bytes in all.
func ValidHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// checkMatchHost validates a lower-cased route host pattern.
func checkMatchHost(h string) *problem {
	if strings.Contains(h, ":") {
		return newProblem("hosts match the name only; remove the port", "host %q must not contain a port", h)
	}
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return newProblem("wildcards are only allowed as the whole first label, e.g. *.example.com", "invalid host %q", h)
	}
	if !ValidHostname(name) {
		return newProblem("use a DNS name such as api.example.com or *.example.com", "invalid host %q", h)
	}
	return nil
}

// checkAddress validates a listen address host:port. Ports must be
// numeric: service names depend on /etc/services of the machine.
func checkAddress(addr string) *problem {
	const hint = "use host:port such as 127.0.0.1:8080 or :8080"
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return newProblem(hint, "invalid address %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return newProblem(hint, "invalid port %q in address %q", port, addr)
	}
	if strings.ContainsAny(host, " /\t") {
		return newProblem(hint, "invalid host %q in address %q", host, addr)
	}
	return nil
}

// canonicalAddress makes "LOCALHOST:080" and "localhost:80" compare equal
// when checking for two listeners on one socket.
func canonicalAddress(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	n, _ := strconv.Atoi(port)
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(n))
}

// addressPort returns the numeric port of a valid address.
func addressPort(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	return n
}

// checkTemplate validates a path template such as /users/{id}/files/{rest...}.
func checkTemplate(t string) *problem {
	const hint = "variables are whole segments like /users/{id}; only the last may be {name...}"
	if !strings.HasPrefix(t, "/") {
		return newProblem("start it with /", "path template %q must start with /", t)
	}
	segs := strings.Split(t[1:], "/")
	names := make(map[string]bool)
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "" && !last {
			return newProblem("remove the double slash", "path template %q has an empty segment", t)
		}
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		if len(seg) < 2 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			return newProblem(hint, "path template %q: segment %q mixes text and a variable", t, seg)
		}
		name := seg[1 : len(seg)-1]
		if rest, ok := strings.CutSuffix(name, "..."); ok {
			if !last {
				return newProblem(hint, "path template %q: catch-all {%s} must be the last segment", t, name)
			}
			name = rest
		}
		if !validIdentifier(name) {
			return newProblem("names are letters, digits and _, not starting with a digit", "path template %q: invalid variable name %q", t, name)
		}
		if names[name] {
			return newProblem("give each variable its own name", "path template %q: variable %q is used twice", t, name)
		}
		names[name] = true
	}
	return nil
}

func validIdentifier(s string) bool {
	return validEnvName(s) // same rule: [A-Za-z_][A-Za-z0-9_]*
}

// normalizeTargetURL checks a target URL and returns it as
// scheme://host:port, so consumers never apply scheme default ports.
func normalizeTargetURL(raw string) (string, *problem) {
	const hint = "use http://host:port, https://host, tcp://host:port or udp://host:port"
	if !strings.Contains(raw, "://") {
		return "", newProblem(fmt.Sprintf("write http://%s", raw), "target URL %q has no scheme", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", newProblem(hint, "invalid target URL %q", raw)
	}
	var defPort string
	switch u.Scheme {
	case "http":
		defPort = "80"
	case "https":
		defPort = "443"
	case "tcp", "udp":
		// No default port: L4 services have none in common.
	default:
		return "", newProblem(hint, "target URL %q must use http://, https://, tcp:// or udp://", raw)
	}
	if u.User != nil {
		return "", newProblem("set credentials with a request_headers filter", "target URL %q must not contain user info", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "" {
		return "", newProblem("targets are host:port only; rewrite paths with a url_rewrite filter on the route",
			"target URL %q must not have a path, query or fragment", raw)
	}
	host := u.Hostname()
	if host == "" {
		return "", newProblem(hint, "target URL %q has no host", raw)
	}
	port := u.Port()
	if port == "" && defPort == "" {
		return "", newProblem(fmt.Sprintf("write %s://%s:PORT", u.Scheme, host), "target URL %q needs a port", raw)
	}
	if port == "" {
		port = defPort
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", newProblem(hint, "target URL %q has an invalid port", raw)
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), nil
}
