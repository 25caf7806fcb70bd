package filter

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/expr"
)

// QueryConfig edits the request's query string: Remove runs first, then
// Set (replaces every value of a name with one), then Add (appends).
// Names are exact (query names are case-sensitive). Values are templates
// as in HeadersConfig, rendered against the request before the edit.
// The zero value edits nothing.
//
// The edit works on the raw query: parameters it does not touch keep
// their original encoding and order, so an upstream that signs or hashes
// its query sees the client's bytes; only written names and values are
// encoded (url.QueryEscape). A set parameter takes the place of its
// first occurrence; one that was absent, and every added one, goes at the
// end. Trade-off: matching reads each pair's name unescaped, which costs
// a scan of the query per request even when no name matches.
type QueryConfig struct {
	Set    map[string]string
	Add    map[string]string
	Remove []string
}

type queryEdit struct {
	set, add []queryValue
	remove   []string
	dynamic  bool
}

type queryValue struct {
	name, escName string
	lit           string // QueryEscape'd literal value
	tpl           *expr.Template
}

// Query returns the query filter. The upstream request is built from
// r.URL.RawQuery by both upstream engines, so the edit is what the
// upstream receives.
func Query(c QueryConfig) func(http.Handler) http.Handler {
	e := &queryEdit{remove: c.Remove}
	value := func(k, v string) queryValue {
		qv := queryValue{name: k, escName: url.QueryEscape(k), lit: url.QueryEscape(v)}
		if t, err := expr.CompileTemplate(v, expr.ScopeRequest); err == nil {
			if s, static := t.Literal(); static {
				qv.lit = url.QueryEscape(s)
			} else {
				qv.tpl, e.dynamic = t, true
			}
		}
		return qv
	}
	for _, k := range sortedKeys(c.Set) {
		e.set = append(e.set, value(k, c.Set[k]))
	}
	for _, k := range sortedKeys(c.Add) {
		e.add = append(e.add, value(k, c.Add[k]))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.URL.RawQuery = e.apply(r)
			r.URL.ForceQuery = false
			next.ServeHTTP(w, r)
		})
	}
}

// apply returns the edited raw query.
func (e *queryEdit) apply(r *http.Request) string {
	var vars *expr.Vars
	if e.dynamic {
		vars = &expr.Vars{Req: r}
	}
	// Render before editing: templates read the query as it came.
	var buf [maxStackValues]string
	vals := buf[:0]
	for _, qv := range e.set {
		vals = append(vals, qv.render(vars))
	}
	for _, qv := range e.add {
		vals = append(vals, qv.render(vars))
	}
	raw := r.URL.RawQuery
	var b strings.Builder
	b.Grow(len(raw) + 32)
	var written uint64 // bit i: set[i] written in place (first 64 only)
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		name := pairName(pair)
		if e.removes(name) {
			continue
		}
		if i := e.setIndex(name); i >= 0 {
			if i >= 64 || written&(1<<i) != 0 {
				continue // later occurrences of a set name go
			}
			written |= 1 << i
			writePair(&b, e.set[i].escName, vals[i])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	for i, qv := range e.set {
		if i >= 64 || written&(1<<i) == 0 {
			writePair(&b, qv.escName, vals[i])
		}
	}
	for i, qv := range e.add {
		writePair(&b, qv.escName, vals[len(e.set)+i])
	}
	return b.String()
}

func (qv *queryValue) render(vars *expr.Vars) string {
	if qv.tpl == nil {
		return qv.lit
	}
	return url.QueryEscape(qv.tpl.Render(vars))
}

func writePair(b *strings.Builder, escName, escValue string) {
	if b.Len() > 0 {
		b.WriteByte('&')
	}
	b.WriteString(escName)
	b.WriteByte('=')
	b.WriteString(escValue)
}

// pairName is a pair's name unescaped, or as written when it does not
// unescape (so it still matches a name given exactly so).
func pairName(pair string) string {
	k, _, _ := strings.Cut(pair, "=")
	if !strings.ContainsAny(k, "%+") {
		return k
	}
	if u, err := url.QueryUnescape(k); err == nil {
		return u
	}
	return k
}

func (e *queryEdit) removes(name string) bool {
	for _, k := range e.remove {
		if k == name {
			return true
		}
	}
	return false
}

func (e *queryEdit) setIndex(name string) int {
	for i := range e.set {
		if e.set[i].name == name {
			return i
		}
	}
	return -1
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
