package config

import (
	"regexp"
	"slices"
	"strings"
)

var redirectStatuses = []int{301, 302, 303, 307, 308}

const maxBodyHint = "keep bodies small; serve large files from an upstream"

func (v *validator) routes(c *Config, listeners, upstreams []string) {
	first := make(map[string]Pos)
	ups := make(map[string]*Upstream, len(c.Upstreams))
	for _, u := range c.Upstreams {
		ups[u.Name] = u
	}
	for _, r := range c.Routes {
		v.name("route", r.Name, r.Pos, &r.Name, first)
		owner := label("route", r.Name)
		if r.Retry != nil {
			v.retry(r, owner)
		}

		seen := make(map[string]bool)
		for i := range r.Listeners {
			name := r.Listeners[i]
			p := v.at(&r.Listeners[i], r.Pos)
			switch {
			case !slices.Contains(listeners, name):
				v.errorf(p, owner, didYouMean(name, listeners, "define it under listeners:, or remove it"),
					"listener %q not found", name)
			case seen[name]:
				v.errorf(p, owner, "remove the duplicate", "listener %q is listed twice", name)
			}
			seen[name] = true
		}

		matches := r.Matches
		switch {
		case r.Match != nil && r.Matches != nil:
			v.errorf(v.at(&r.Matches, r.Pos), owner, "use match: for one set of conditions or matches: for alternatives, not both",
				"match and matches are mutually exclusive")
		case r.Match != nil:
			matches = []*Match{r.Match}
		case r.Matches != nil && len(r.Matches) == 0:
			v.errorf(v.at(&r.Matches, r.Pos), owner, "omit matches to match every request", "matches is empty")
		}
		for _, m := range matches {
			v.match(m, owner)
		}
		v.filters(r, matches, owner, ups, upstreams)
		v.action(r, matches, owner, ups, upstreams)
		if rd := r.Redirect; rd != nil && rd.sameURL() {
			c.Warnings = append(c.Warnings, Warning{rd.Pos, owner + ": redirect to the same URL: clients that repeat the method loop (set scheme, host, port or path)"})
		}
	}
}

func (v *validator) match(m *Match, owner string) {
	for i := range m.Hosts {
		m.Hosts[i] = strings.ToLower(m.Hosts[i])
		v.problem(v.at(&m.Hosts[i], m.Pos), owner, checkMatchHost(m.Hosts[i]))
	}
	for i := range m.Methods {
		if !validToken(m.Methods[i]) {
			v.errorf(v.at(&m.Methods[i], m.Pos), owner, "use a method such as GET or POST", "invalid method %q", m.Methods[i])
		}
		m.Methods[i] = strings.ToUpper(m.Methods[i])
	}
	if m.Path != nil {
		v.pathMatch(m.Path, owner)
	}
	for _, h := range m.Headers {
		if !validToken(h.Name) {
			v.errorf(v.at(&h.Name, h.Pos), owner, "use a header name such as X-Env", "invalid header name %q", h.Name)
		}
		v.valueMatch(h, owner, "header")
	}
	v.matchVersion(m, owner)
	for _, q := range m.Query {
		// Query names are not HTTP tokens (filter[name] is common), so
		// only emptiness is rejected.
		if q.Name == "" {
			v.errorf(q.Pos, owner, "add name: with the query parameter name", "query match has no name")
		}
		v.valueMatch(q, owner, "query")
	}
}

func (v *validator) valueMatch(vm *ValueMatch, owner, kind string) {
	n := 0
	for _, set := range []bool{vm.Value != "" || v.given(&vm.Value), vm.Regex != "", vm.Present} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(vm.Pos, owner, "give exactly one of value, regex or present: true",
			"%s match %q needs exactly one condition", kind, vm.Name)
	}
	if vm.Regex != "" {
		if _, err := regexp.Compile(vm.Regex); err != nil {
			v.errorf(v.at(&vm.Regex, vm.Pos), owner, "use RE2 syntax (https://golang.org/s/re2syntax)",
				"invalid regex %q: %v", vm.Regex, regexpReason(err))
		}
	}
}

// regexpReason strips the pattern regexp repeats in its errors.
func regexpReason(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error parsing regexp: ")
	if i := strings.Index(msg, ": `"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

func (v *validator) pathMatch(p *PathMatch, owner string) {
	n := 0
	for _, s := range []string{p.Exact, p.Prefix, p.Regex, p.Template} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		v.errorf(p.Pos, owner, "give exactly one of exact, prefix, regex or template", "path match needs exactly one kind")
		return
	}
	switch {
	case p.Exact != "" && !strings.HasPrefix(p.Exact, "/"):
		v.errorf(v.at(&p.Exact, p.Pos), owner, "start it with /", "exact path %q must start with /", p.Exact)
	case p.Prefix != "" && !strings.HasPrefix(p.Prefix, "/"):
		v.errorf(v.at(&p.Prefix, p.Pos), owner, "start it with /", "path prefix %q must start with /", p.Prefix)
	case p.Regex != "":
		if _, err := regexp.Compile(p.Regex); err != nil {
			v.errorf(v.at(&p.Regex, p.Pos), owner, "use RE2 syntax (https://golang.org/s/re2syntax)",
				"invalid path regex %q: %v", p.Regex, regexpReason(err))
		}
	case p.Template != "":
		v.problem(v.at(&p.Template, p.Pos), owner, checkTemplate(p.Template))
	}
}

func (v *validator) filters(r *Route, matches []*Match, owner string, ups map[string]*Upstream, upstreams []string) {
	rewrites := 0
	for _, f := range r.Filters {
		n := 0
		for _, set := range []bool{f.RequestHeaders != nil, f.ResponseHeaders != nil, f.URLRewrite != nil, f.RequestMirror != nil,
			f.RequestBody != nil, f.ResponseBody != nil, f.Deprecation != nil, f.Query != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			v.errorf(f.Pos, owner, "write each filter as its own list item (- request_headers: ...)",
				"filter needs exactly one of request_headers, response_headers, url_rewrite, request_mirror, request_body, response_body, deprecation or query")
		}
		if f.Deprecation != nil {
			v.deprecation(f.Deprecation, f.Pos, owner)
		}
		if f.RequestBody != nil {
			v.bodyTransform(f.RequestBody, "request_body", f.Pos, owner)
		}
		if f.ResponseBody != nil {
			v.bodyTransform(f.ResponseBody, "response_body", f.Pos, owner)
		}
		v.transform(f, owner)
		if f.RequestMirror != nil {
			v.requestMirror(f.RequestMirror, f.Pos, owner, ups, upstreams)
		}
		if f.RequestHeaders != nil {
			v.headerFilter(f.RequestHeaders, f.Pos, owner)
		}
		if f.ResponseHeaders != nil {
			v.headerFilter(f.ResponseHeaders, f.Pos, owner)
		}
		if f.URLRewrite != nil {
			rewrites++
			if rewrites == 2 {
				v.errorf(f.Pos, owner, "combine hostname and path into one url_rewrite", "route has more than one url_rewrite filter")
			}
			if r.Backend == nil {
				v.errorf(f.Pos, owner, "url_rewrite applies to requests forwarded to a backend", "url_rewrite needs a backend")
			}
			v.urlRewrite(f.URLRewrite, f.Pos, matches, owner)
		}
	}
}

func (v *validator) headerFilter(h *HeaderFilter, pos Pos, owner string) {
	for _, m := range []*Templates{&h.Set, &h.Add} {
		headerMap(v, m, pos, owner)
	}
	for i, name := range h.Remove {
		if !validToken(name) {
			v.errorf(v.at(&h.Remove[i], pos), owner, "use a header name such as X-Debug", "invalid header name %q", name)
		}
	}
}

// headerMap checks names and values of a header map, in sorted order so
// errors are deterministic.
func headerMap[M ~map[string]string](v *validator, m *M, pos Pos, owner string) {
	keys := make([]string, 0, len(*m))
	for k := range *m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := v.at(mapEntry{m, k}, pos)
		if !validToken(k) {
			v.errorf(p, owner, "use a header name such as X-Api-Version", "invalid header name %q", k)
		}
		if !validHeaderValue((*m)[k]) {
			v.errorf(p, owner, "remove line breaks and NUL bytes from the value", "header %q has an invalid value", k)
		}
	}
}

func (v *validator) urlRewrite(u *URLRewrite, pos Pos, matches []*Match, owner string) {
	if u.Hostname == "" && u.Path == nil {
		v.errorf(pos, owner, "give hostname, path or both", "url_rewrite changes nothing")
	}
	if u.Hostname != "" && !ValidHostname(strings.ToLower(u.Hostname)) {
		v.errorf(v.at(&u.Hostname, pos), owner, "use a DNS name such as users.internal", "invalid hostname %q", u.Hostname)
	}
	p := u.Path
	if p == nil {
		return
	}
	ppos := v.at(&u.Path, pos)
	switch {
	case (p.ReplaceFullPath == "") == (p.ReplacePrefixMatch == ""):
		v.errorf(ppos, owner, "give exactly one of replace_full_path or replace_prefix_match", "path rewrite needs exactly one kind")
	case p.ReplaceFullPath != "" && !strings.HasPrefix(p.ReplaceFullPath, "/"):
		v.errorf(v.at(&p.ReplaceFullPath, ppos), owner, "start it with /", "replace_full_path %q must start with /", p.ReplaceFullPath)
	case p.ReplacePrefixMatch != "" && !strings.HasPrefix(p.ReplacePrefixMatch, "/"):
		v.errorf(v.at(&p.ReplacePrefixMatch, ppos), owner, "start it with /", "replace_prefix_match %q must start with /", p.ReplacePrefixMatch)
	case p.ReplacePrefixMatch != "":
		if !allPrefixMatches(matches) {
			v.errorf(v.at(&p.ReplacePrefixMatch, ppos), owner, "match with path: {prefix: ...}, or use replace_full_path",
				"replace_prefix_match needs every match of the route to be a path prefix match")
		}
	}
}

// allPrefixMatches: the prefix a ReplacePrefixMatch replaces is the
// matched one, so every way into the route must have matched a prefix.
func allPrefixMatches(matches []*Match) bool {
	ok := len(matches) > 0
	for _, m := range matches {
		ok = ok && m.Path != nil && m.Path.Prefix != ""
	}
	return ok
}

func (v *validator) action(r *Route, matches []*Match, owner string, ups map[string]*Upstream, upstreams []string) {
	var kinds []string
	if r.Backend != nil {
		kinds = append(kinds, "backend")
	}
	if r.Respond != nil {
		kinds = append(kinds, "respond")
	}
	if r.Redirect != nil {
		kinds = append(kinds, "redirect")
	}
	if r.Compose != nil {
		kinds = append(kinds, "compose")
	}
	switch len(kinds) {
	case 0:
		v.errorf(r.Pos, owner, "add backend: {upstream: NAME}, respond: {...}, redirect: {...} or compose: {...}", "route has no action")
	case 1:
	default:
		v.errorf(r.Pos, owner, "keep exactly one of backend, respond, redirect or compose",
			"route has both %s", strings.Join(kinds, " and "))
	}
	if b := r.Backend; b != nil {
		switch {
		case b.Upstream == "":
			v.errorf(b.Pos, owner, "add upstream: NAME", "backend has no upstream")
		case !slices.Contains(upstreams, b.Upstream):
			v.errorf(v.at(&b.Upstream, b.Pos), owner, didYouMean(b.Upstream, upstreams, "define it under upstreams:"),
				"upstream %q not found", b.Upstream)
		}
	}
	if rs := r.Respond; rs != nil {
		v.respond(rs, owner)
	}
	if rd := r.Redirect; rd != nil {
		v.redirect(rd, matches, owner)
	}
	if c := r.Compose; c != nil {
		v.compose(c, owner, ups, upstreams)
	}
}

func (v *validator) respond(rs *Respond, owner string) {
	if rs.Status < 100 || rs.Status > 599 {
		v.errorf(v.at(&rs.Status, rs.Pos), owner, "use an HTTP status between 100 and 599", "respond status %d is out of range", rs.Status)
	}
	headerMap(v, &rs.Headers, rs.Pos, owner)
	if rs.BodyFile == "" {
		return
	}
	filePos := v.at(&rs.BodyFile, rs.Pos)
	if rs.Body != "" {
		v.errorf(filePos, owner, "keep one of body or body_file", "respond has both body and body_file")
		return
	}
	rs.BodyFile = resolvePath(rs.BodyFile, filePos)
	data, err := readFile(rs.BodyFile)
	if err != nil {
		p := readProblem("body_file", rs.BodyFile, err)
		if p.hint == "" {
			p.hint = maxBodyHint
		}
		v.problem(filePos, owner, p)
		return
	}
	rs.Body = string(data)
}

func (v *validator) redirect(rd *Redirect, matches []*Match, owner string) {
	if rd.Scheme != "" && rd.Scheme != "http" && rd.Scheme != "https" {
		v.errorf(v.at(&rd.Scheme, rd.Pos), owner, "use http or https", "invalid redirect scheme %q", rd.Scheme)
	}
	if rd.Host != "" {
		if strings.Contains(rd.Host, ":") {
			v.errorf(v.at(&rd.Host, rd.Pos), owner, "set the port with port:", "redirect host %q must not contain a port", rd.Host)
		} else if !ValidHostname(strings.ToLower(rd.Host)) {
			v.errorf(v.at(&rd.Host, rd.Pos), owner, "use a DNS name such as www.example.com", "invalid redirect host %q", rd.Host)
		}
	}
	if rd.Port < 0 || rd.Port > 65535 {
		v.errorf(v.at(&rd.Port, rd.Pos), owner, "use a port between 1 and 65535", "redirect port %d is out of range", rd.Port)
	}
	if rd.Path != "" && !strings.HasPrefix(rd.Path, "/") {
		v.errorf(v.at(&rd.Path, rd.Pos), owner, "start it with /", "redirect path %q must start with /", rd.Path)
	}
	if p := rd.ReplacePrefixMatch; p != "" {
		switch {
		case rd.Path != "":
			v.errorf(v.at(&rd.ReplacePrefixMatch, rd.Pos), owner, "keep one of path or replace_prefix_match", "redirect has both path and replace_prefix_match")
		case !strings.HasPrefix(p, "/"):
			v.errorf(v.at(&rd.ReplacePrefixMatch, rd.Pos), owner, "start it with /", "replace_prefix_match %q must start with /", p)
		case !allPrefixMatches(matches):
			v.errorf(v.at(&rd.ReplacePrefixMatch, rd.Pos), owner, "match with path: {prefix: ...}, or use path",
				"replace_prefix_match needs every match of the route to be a path prefix match")
		}
	}
	if !slices.Contains(redirectStatuses, rd.Status) {
		v.errorf(v.at(&rd.Status, rd.Pos), owner, "use 301, 302, 303, 307 or 308", "redirect status %d is not a redirect", rd.Status)
	}
}

// sameURL reports whether rd redirects to the request's own URL. Gateway
// API allows it (a 303 turns a POST into a GET of the same URL, and the
// conformance tests send 303, 307 and 308 so), so it is only a warning:
// clients that repeat the method loop.
func (rd *Redirect) sameURL() bool {
	return rd.Scheme == "" && rd.Host == "" && rd.Port == 0 && rd.Path == "" && rd.ReplacePrefixMatch == ""
}
