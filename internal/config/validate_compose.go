package config

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/jsonxform"
)

var (
	composeMerges   = []string{"group", "merge", "append"}
	composeOnErrors = []string{"fail", "omit", "default"}
	stepNameRe      = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// composeScope is what step templates may use: the request's variables
// and earlier results (item only in for_each steps, checked below).
const composeScope = expr.ScopeRequest | expr.ScopeSteps

// compose checks a route's composition: steps, their references and
// DAG, and, for merge: merge, that no two steps write the same key.
func (v *validator) compose(c *Compose, owner string, ups map[string]*Upstream, upstreams []string) {
	if c.Merge != "" {
		v.oneOf(v.at(&c.Merge, c.Pos), owner, "compose merge", c.Merge, composeMerges)
	}
	if c.MaxBodyBytes < 0 {
		v.errorf(v.at(&c.MaxBodyBytes, c.Pos), owner, "use a size such as 1MiB (omit it for the default)", "compose max_body_bytes is negative")
	}
	switch {
	case len(c.Steps) == 0:
		v.errorf(c.Pos, owner, "add steps: [{name: NAME, upstream: UPSTREAM, url: /path}]", "compose has no steps")
		return
	case len(c.Steps) > compose.MaxSteps:
		v.errorf(v.at(&c.Steps, c.Pos), owner, "split the composition, or compose a route that composes",
			"compose has %d steps, more than %d", len(c.Steps), compose.MaxSteps)
	}
	byName := make(map[string]*ComposeStep, len(c.Steps))
	for _, s := range c.Steps {
		switch {
		case s.Name == "":
			v.errorf(s.Pos, owner, "add name: with lower-case letters, digits or '_'", "compose step has no name")
		case !stepNameRe.MatchString(s.Name):
			v.errorf(v.at(&s.Name, s.Pos), owner, "use lower-case letters, digits or '_' (templates refer to it as steps.NAME)",
				"invalid compose step name %q", s.Name)
		case byName[s.Name] != nil:
			v.errorf(v.at(&s.Name, s.Pos), owner, "first defined at "+byName[s.Name].Pos.String()+"; step names must be unique",
				"compose step %q is defined twice", s.Name)
		default:
			byName[s.Name] = s
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	cyclic := v.composeNeeds(c, owner, byName, names)
	for _, s := range c.Steps {
		v.composeStep(s, owner, ups, upstreams)
		if !cyclic {
			v.composeRefs(s, owner, byName)
		}
	}
	if c.Merge == "merge" || c.Merge == "" {
		v.composeKeys(c, owner)
	}
}

// composeNeeds checks needs references and reports a cycle with its
// path; it returns whether there is one.
func (v *validator) composeNeeds(c *Compose, owner string, byName map[string]*ComposeStep, names []string) bool {
	for _, s := range c.Steps {
		seen := map[string]bool{}
		for i, n := range s.Needs {
			p := v.at(&s.Needs[i], s.Pos)
			switch {
			case n == s.Name:
				v.errorf(p, owner, "remove it", "compose step %q needs itself", s.Name)
			case byName[n] == nil:
				v.errorf(p, owner, didYouMean(n, names, "name a step of this composition"), "compose step %q needs unknown step %q", s.Name, n)
			case seen[n]:
				v.errorf(p, owner, "remove the duplicate", "compose step %q needs %q twice", s.Name, n)
			}
			seen[n] = true
		}
	}
	// Depth-first search in step order; the first back edge is reported
	// with the whole cycle.
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var stack []string
	var visit func(s *ComposeStep) bool
	visit = func(s *ComposeStep) bool {
		state[s.Name] = 1
		stack = append(stack, s.Name)
		for i, n := range s.Needs {
			d := byName[n]
			if d == nil || n == s.Name {
				continue
			}
			switch state[n] {
			case 1:
				at := slices.Index(stack, n)
				cycle := append(append([]string(nil), stack[at:]...), n)
				v.errorf(v.at(&s.Needs[i], s.Pos), owner, "remove one of these needs", "compose needs cycle: %s", strings.Join(cycle, " → "))
				return true
			case 0:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[s.Name] = 2
		return false
	}
	for _, s := range c.Steps {
		if byName[s.Name] == s && state[s.Name] == 0 && visit(s) {
			return true
		}
	}
	return false
}

// composeStep checks one step's own fields.
func (v *validator) composeStep(s *ComposeStep, owner string, ups map[string]*Upstream, upstreams []string) {
	so := fmt.Sprintf("compose step %q", s.Name)
	switch {
	case (s.Upstream == "") == (s.Path == ""):
		v.errorf(s.Pos, owner, "give upstream: NAME (with url: /path) to call an upstream, or path: /route-path to call a route of this gateway",
			"%s needs exactly one of upstream or path", so)
	case s.Path != "":
		if s.URL != "" {
			v.errorf(v.at(&s.URL, s.Pos), owner, "put the path and query in path:", "%s has both path and url", so)
		}
		if !strings.HasPrefix(s.Path, "/") {
			v.errorf(v.at(&s.Path, s.Pos), owner, "start it with /", "%s path %q must start with /", so, s.Path)
		}
	default:
		up := v.at(&s.Upstream, s.Pos)
		if u, ok := ups[s.Upstream]; !ok {
			v.errorf(up, owner, didYouMean(s.Upstream, upstreams, "define it under upstreams:"), "upstream %q not found", s.Upstream)
		} else if scheme, t := l4Target(u); scheme != "" {
			v.errorf(up, owner, "compose calls upstreams with http:// or https:// targets",
				"%s upstream %q has %s target %s", so, u.Name, scheme, t)
		}
		if s.URL != "" && !strings.HasPrefix(s.URL, "/") {
			v.errorf(v.at(&s.URL, s.Pos), owner, "start it with / (the upstream's address comes from its targets)", "%s url %q must start with /", so, s.URL)
		}
	}
	if s.Method != "" {
		if !validToken(s.Method) {
			v.errorf(v.at(&s.Method, s.Pos), owner, "use a method such as GET or POST", "%s has invalid method %q", so, s.Method)
		}
		s.Method = strings.ToUpper(s.Method)
	}
	headerMap(v, &s.Headers, s.Pos, owner)
	for i, h := range s.ForwardHeaders {
		if !validToken(h) {
			v.errorf(v.at(&s.ForwardHeaders[i], s.Pos), owner, "use a header name such as Authorization", "%s forwards invalid header name %q", so, h)
		}
	}
	if s.Timeout < 0 {
		v.errorf(v.at(&s.Timeout, s.Pos), owner, "use a positive duration, or omit it", "%s timeout is negative", so)
	}
	if s.Concurrency < 0 || s.Concurrency > compose.MaxConcurrency {
		v.errorf(v.at(&s.Concurrency, s.Pos), owner, fmt.Sprintf("use 1 to %d (default %d)", compose.MaxConcurrency, compose.DefaultConcurrency),
			"%s concurrency %d is out of range", so, s.Concurrency)
	}
	if s.MaxItems < 0 || s.MaxItems > compose.MaxItemsLimit {
		v.errorf(v.at(&s.MaxItems, s.Pos), owner, fmt.Sprintf("use 1 to %d (default %d)", compose.MaxItemsLimit, compose.DefaultMaxItems),
			"%s max_items %d is out of range", so, s.MaxItems)
	}
	if s.ForEach == "" && (v.given(&s.Concurrency) || v.given(&s.MaxItems)) {
		p := v.at(&s.Concurrency, v.at(&s.MaxItems, s.Pos))
		v.errorf(p, owner, "add for_each: steps.STEP.ARRAY, or remove them", "%s has concurrency or max_items without for_each", so)
	}
	if s.OnError != "" {
		v.oneOf(v.at(&s.OnError, s.Pos), owner, "on_error", s.OnError, composeOnErrors)
	}
	switch hasDefault := v.given(&s.Default); {
	case s.OnError == "default" && !hasDefault:
		v.errorf(v.at(&s.OnError, s.Pos), owner, "add default: VALUE (the result used when the step fails)", "%s has on_error: default but no default", so)
	case s.OnError != "default" && hasDefault:
		v.errorf(v.at(&s.Default, s.Pos), owner, "add on_error: default, or remove default", "%s has a default but on_error is not default", so)
	}
	if v.given(&s.When) && strings.TrimSpace(s.When) == "" {
		v.errorf(v.at(&s.When, s.Pos), owner, "write a CEL condition, or remove when", "%s has an empty when", so)
	} else if s.When != "" {
		if _, err := expr.CompileCondition(s.When, expr.ScopeRequest|expr.ScopeSteps); err != nil {
			v.errorf(v.at(&s.When, s.Pos), owner, "a CEL expression over the request variables and steps, such as 'header[\"x-with-orders\"] == \"1\"'", "%s when: %v", so, err)
		}
	}
	if s.Group != "" && !validKeyPath(s.Group) {
		v.errorf(v.at(&s.Group, s.Pos), owner, "use keys separated by dots, such as address.city", "%s group has invalid path %q", so, s.Group)
	}
	for _, p := range []struct {
		key   string
		ptr   any
		paths []string
	}{{"target", &s.Target, optional(s.Target)}, {"allow", &s.Allow, s.Allow}, {"deny", &s.Deny, s.Deny}} {
		for _, path := range p.paths {
			if _, err := jsonxform.ParsePath(path); err != nil {
				v.errorf(v.at(p.ptr, s.Pos), owner, pathHint, "%s %s: %v", so, p.key, err)
			}
		}
	}
	for _, from := range slices.Sorted(maps.Keys(s.Mapping)) {
		if _, err := jsonxform.New(jsonxform.Config{Rename: map[string]string{from: s.Mapping[from]}}); err != nil {
			v.errorf(v.at(mapEntry{&s.Mapping, from}, s.Pos), owner, pathHint, "%s mapping: %v", so, err)
		}
	}
}

func optional(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func validKeyPath(p string) bool {
	if p == "" {
		return false
	}
	return !slices.Contains(strings.Split(p, "."), "")
}

// l4Target returns the scheme and URL of an upstream's first tcp/udp
// target ("" when every target speaks HTTP).
func l4Target(u *Upstream) (string, string) {
	for _, t := range u.Targets {
		if pu, err := url.Parse(t.URL); err == nil && (pu.Scheme == "tcp" || pu.Scheme == "udp") {
			return pu.Scheme, t.URL
		}
	}
	return "", ""
}

// composeRefs compiles a step's templates and for_each and checks what
// they refer to: steps among its transitive needs, item only under
// for_each.
func (v *validator) composeRefs(s *ComposeStep, owner string, byName map[string]*ComposeStep) {
	so := fmt.Sprintf("compose step %q", s.Name)
	deps := map[string]bool{}
	var walk func(n string)
	walk = func(n string) {
		for _, d := range byName[n].Needs {
			if byName[d] != nil && !deps[d] {
				deps[d] = true
				walk(d)
			}
		}
	}
	if byName[s.Name] == s {
		walk(s.Name)
	}
	check := func(p Pos, what string, varNames []string) {
		for _, name := range varNames {
			head, rest, _ := strings.Cut(name, ".")
			switch head {
			case "item":
				if s.ForEach == "" {
					v.errorf(p, owner, "item is the current element of for_each: add for_each, or use steps.STEP", "%s %s uses %s outside for_each", so, what, name)
				}
			case "steps":
				ref, _, _ := strings.Cut(rest, ".")
				switch {
				case byName[ref] == nil:
					v.errorf(p, owner, "name a step of this composition", "%s %s uses %s: there is no step %q", so, what, name, ref)
				case !deps[ref]:
					v.errorf(p, owner, fmt.Sprintf("add needs: [%s]", ref), "%s %s uses %s but does not need step %q", so, what, name, ref)
				}
			}
		}
	}
	tpl := func(p Pos, what, src string) {
		t, err := expr.CompileTemplate(src, composeScope)
		if err != nil {
			v.errorf(p, owner, "see the variables in the message; write $${ for a literal ${", "%s %s: %v", so, what, err)
			return
		}
		check(p, what, t.Names())
	}
	if s.URL != "" {
		tpl(v.at(&s.URL, s.Pos), "url", s.URL)
	}
	if s.Path != "" {
		tpl(v.at(&s.Path, s.Pos), "path", s.Path)
	}
	hk := make([]string, 0, len(s.Headers))
	for k := range s.Headers {
		hk = append(hk, k)
	}
	sort.Strings(hk)
	for _, k := range hk {
		tpl(v.at(mapEntry{&s.Headers, k}, s.Pos), "header "+k, s.Headers[k])
	}
	if v.given(&s.Body) {
		p := v.at(&s.Body, s.Pos)
		if _, names, err := compose.CompileBody(s.Body, composeScope); err != nil {
			v.errorf(p, owner, "see the variables in the message; write $${ for a literal ${", "%s body: %v", so, err)
		} else {
			check(p, "body", names)
		}
	}
	if s.ForEach != "" {
		p := v.at(&s.ForEach, s.Pos)
		if strings.Contains(s.ForEach, "${") {
			v.errorf(p, owner, "write the variable without ${}, e.g. for_each: steps.user.order_ids", "%s for_each %q is a template", so, s.ForEach)
		} else if _, err := expr.Lookup(s.ForEach, composeScope); err != nil {
			v.errorf(p, owner, "name a variable holding an array, e.g. steps.user.order_ids", "%s for_each: %v", so, err)
		} else if strings.HasPrefix(s.ForEach, "item") {
			v.errorf(p, owner, "iterate over steps.STEP.ARRAY or a request variable", "%s for_each cannot use item", so)
		} else {
			check(p, "for_each", []string{s.ForEach})
		}
	}
}

// composeKeys refuses, for merge: merge, steps whose declared keys
// overlap (equal, or one a prefix of the other), and steps that declare
// none; for group, two steps under the same key.
func (v *validator) composeKeys(c *Compose, owner string) {
	type written struct {
		step *ComposeStep
		path string
	}
	var all []written
	for _, s := range c.Steps {
		var keys []string
		switch {
		case c.Merge == "" || c.Merge == "group":
			keys = []string{cmp(s.Group, s.Name)}
		case s.Group != "":
			keys = []string{s.Group}
		case len(s.Allow) > 0:
			for _, a := range s.Allow {
				keys = append(keys, mappedPath(a, s.Mapping))
			}
		default:
			v.errorf(s.Pos, owner, "add allow: [KEYS] (the keys it contributes) or group: KEY",
				"compose step %q does not declare its keys, which merge: merge needs to rule out collisions", s.Name)
			continue
		}
		for _, k := range keys {
			for _, w := range all {
				if w.step == s {
					continue
				}
				if short, ok := overlap(w.path, k); ok {
					v.errorf(s.Pos, owner, fmt.Sprintf("step %q is at %s; rename with mapping or group", w.step.Name, w.step.Pos),
						"key collision: steps %s and %s both write %s", w.step.Name, s.Name, short)
				}
			}
		}
		for _, k := range keys {
			all = append(all, written{s, k})
		}
	}
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mappedPath is where an allowed path ends up after mapping: an exact
// entry, or one for its first segment.
func mappedPath(p string, mapping map[string]string) string {
	if to, ok := mapping[p]; ok {
		return to
	}
	head, rest, ok := strings.Cut(p, ".")
	if to, found := mapping[head]; found && ok {
		return to + "." + rest
	}
	return p
}

// overlap reports whether two key paths are equal or one is a prefix of
// the other (by segments), and returns the shorter.
func overlap(a, b string) (string, bool) {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a, a == b || strings.HasPrefix(b, a+".")
}
