package router

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
)

// Router finds the rule for a request. It is immutable after New and safe
// for concurrent use; reloads build a new Router.
type Router[T any] struct {
	values []T
	t      table
}

// table is the type-independent part of a Router, kept non-generic so the hot
// path is compiled once and does not go through generic dictionaries.
type table struct {
	// Exact hosts (lower-case) and their buckets. Few hosts are compared one
	// by one (exactKeys/exactVals), which beats hashing the Host; many go in
	// exactMap. See smallMapMax.
	exactKeys []string
	exactVals []*bucket
	exactMap  map[string]*bucket
	wild      []wildBucket // longest suffix first
	any       *bucket      // matches without hosts
	hosts     bool         // any exact or wildcard host configured
}

// smallMapMax is the number of hosts up to which a linear scan of strings is
// used instead of a map: Go hashes the whole key even for tiny maps, and
// the hash dominated BenchmarkMatch before this (about half the time).
// Host names mostly differ in length, which the scan checks first.
const smallMapMax = 8

// smallSegMax is the same for first path segments, which are short and often
// of equal length ("v1", "v2"), so the map wins sooner
// (BenchmarkBucketIndex/8: 7 keys scanned 46 ns vs hashed 36 ns).
const smallSegMax = 4

type wildBucket struct {
	suffix string // ".example.com" for "*.example.com"
	*bucket
}

// defaultIndexMin is the bucket size from which candidates are indexed by
// first path segment. BenchmarkBucketIndex (hit on the last route, best of 8
// runs on a shared 2-core box), linear vs indexed: 3 candidates 36 vs 35 ns,
// 7: 60 vs 34, 15: 132 vs 34, 49: 350 vs 35. A linear step costs about 7 ns.
const defaultIndexMin = 6

// bucket holds the candidates for one host key, in precedence order.
type bucket struct {
	cands []candidate
	// indexed is set for buckets of at least indexMin candidates. Their
	// candidates are looked up by the path's first segment: segKeys/segVals
	// (or segMap when there are more than smallSegMax segments) give the
	// indices (ascending, so still in precedence order) of the candidates
	// that can match a path with that segment: those fixed to it plus those
	// not fixed to any. Candidates fixed to another segment cannot match, so
	// skipping them keeps the first full match the same while walking far
	// fewer candidates. Small buckets are walked linearly.
	indexed bool
	segKeys []string
	segVals [][]int32
	segMap  map[string][]int32
	// loose lists the candidates not fixed to a first segment, used when the
	// path's first segment has no entry.
	loose []int32
}

func newBucket(cs []candidate, indexMin int) *bucket {
	slices.SortFunc(cs, func(a, b candidate) int { return comparePrecedence(&a, &b) })
	b := &bucket{cands: cs}
	if len(cs) < indexMin {
		return b
	}
	b.indexed = true
	bySeg := make(map[string][]int32)
	for _, c := range cs {
		if c.path.hasFirstSeg {
			bySeg[c.path.firstSeg] = nil
		}
	}
	for i, c := range cs {
		if c.path.hasFirstSeg {
			bySeg[c.path.firstSeg] = append(bySeg[c.path.firstSeg], int32(i))
			continue
		}
		b.loose = append(b.loose, int32(i))
		for k, l := range bySeg {
			bySeg[k] = append(l, int32(i))
		}
	}
	if len(bySeg) > smallSegMax {
		b.segMap = bySeg
		return b
	}
	for _, k := range slices.Sorted(maps.Keys(bySeg)) {
		b.segKeys = append(b.segKeys, k)
		b.segVals = append(b.segVals, bySeg[k])
	}
	return b
}

// candidatesFor returns the indices of the candidates that can match path.
func (b *bucket) candidatesFor(path string) []int32 {
	if len(path) == 0 || path[0] != '/' {
		return b.loose
	}
	seg := firstSegment(path)
	if b.segMap != nil {
		if l, ok := b.segMap[seg]; ok {
			return l
		}
		return b.loose
	}
	for i, k := range b.segKeys {
		if k == seg {
			return b.segVals[i]
		}
	}
	return b.loose
}

// candidate is one compiled Match of one rule, placed in one host bucket.
type candidate struct {
	path    pathMatcher
	methods []string
	headers []valueMatcher
	query   []valueMatcher
	rule    int
	match   int
}

// New compiles rules into a Router. It rejects invalid hosts, paths, regular
// expressions, templates, methods and header names with a *RuleError naming
// the rule and match.
func New[T any](rules []Rule[T]) (*Router[T], error) {
	return newRouter(rules, defaultIndexMin)
}

// newRouter is New with the index threshold as a parameter, so tests can
// check the indexed and linear walks agree.
func newRouter[T any](rules []Rule[T], indexMin int) (*Router[T], error) {
	r := &Router[T]{values: make([]T, len(rules))}
	exact := make(map[string][]candidate)
	wild := make(map[string][]candidate)
	var anyHost []candidate
	for i, rule := range rules {
		r.values[i] = rule.Value
		matches := rule.Matches
		if len(matches) == 0 {
			matches = []Match{{}}
		}
		for j, m := range matches {
			c, field, err := compileMatch(m)
			if err != nil {
				return nil, &RuleError{Rule: i, Match: j, Field: field, Err: err}
			}
			c.rule, c.match = i, j
			if len(m.Hosts) == 0 {
				anyHost = append(anyHost, c)
				continue
			}
			for _, h := range m.Hosts {
				key, isWild, err := configHost(h)
				if err != nil {
					return nil, &RuleError{Rule: i, Match: j, Field: "hosts", Err: fmt.Errorf("%q: %w", h, err)}
				}
				if isWild {
					wild[key] = append(wild[key], c)
				} else {
					exact[key] = append(exact[key], c)
				}
			}
		}
	}
	r.t.hosts = len(exact) > 0 || len(wild) > 0
	if len(exact) > smallMapMax {
		r.t.exactMap = make(map[string]*bucket, len(exact))
		for host, cs := range exact {
			r.t.exactMap[host] = newBucket(cs, indexMin)
		}
	} else {
		for _, host := range slices.Sorted(maps.Keys(exact)) {
			r.t.exactKeys = append(r.t.exactKeys, host)
			r.t.exactVals = append(r.t.exactVals, newBucket(exact[host], indexMin))
		}
	}
	for suffix, cs := range wild {
		r.t.wild = append(r.t.wild, wildBucket{suffix: suffix, bucket: newBucket(cs, indexMin)})
	}
	// Equal-length suffixes cannot both end the same host, so length alone
	// fixes the visiting order; the name only makes it deterministic.
	slices.SortFunc(r.t.wild, func(a, b wildBucket) int {
		if c := cmp.Compare(len(b.suffix), len(a.suffix)); c != 0 {
			return c
		}
		return cmp.Compare(a.suffix, b.suffix)
	})
	r.t.any = newBucket(anyHost, indexMin)
	return r, nil
}

func compileMatch(m Match) (c candidate, field string, err error) {
	if c.path, err = compilePath(m.Path); err != nil {
		return c, "path", err
	}
	for _, meth := range m.Methods {
		if !isToken(meth) {
			return c, "methods", fmt.Errorf("%q is not a valid method", meth)
		}
	}
	c.methods = slices.Clone(m.Methods)
	for _, h := range m.Headers {
		v, err := compileValue(h, true)
		if err != nil {
			return c, "headers", err
		}
		c.headers = append(c.headers, v)
	}
	for _, q := range m.Query {
		v, err := compileValue(q, false)
		if err != nil {
			return c, "query", err
		}
		c.query = append(c.query, v)
	}
	return c, "", nil
}

// Match returns the value of the best rule for the request, and whether any
// rule matched. host is the raw Host header (port, upper case, trailing dot
// and IPv6 brackets are handled here); path must already be Normalize()d;
// header must have canonical keys, as net/http provides; rawQuery is
// r.URL.RawQuery. Template parameters of the winning match are stored in
// params, which may be nil. Match does not allocate.
func (r *Router[T]) Match(host, method, path string, header http.Header, rawQuery string, params *Params) (T, bool) {
	if i := r.t.match(host, method, path, header, rawQuery, params); i >= 0 {
		return r.values[i], true
	}
	var zero T
	return zero, false
}

// match visits host buckets from most to least specific and returns the rule
// index of the first full match, or -1.
func (t *table) match(host, method, path string, header http.Header, rawQuery string, params *Params) int {
	if params != nil {
		params.Reset()
	}
	if t.hosts {
		h := requestHost(host)
		if b := t.exactBucket(h); b != nil {
			if i := b.scan(method, path, header, rawQuery, params); i >= 0 {
				return i
			}
		}
		for k := range t.wild {
			w := &t.wild[k]
			if hasLabelSuffixFold(h, w.suffix) {
				if i := w.scan(method, path, header, rawQuery, params); i >= 0 {
					return i
				}
			}
		}
	}
	return t.any.scan(method, path, header, rawQuery, params)
}

// exactBucket returns the bucket of the exact host h (port already
// removed), or nil. Configured hosts are lower-case; h is lower-cased only
// when the plain comparison fails and it has upper-case letters.
func (t *table) exactBucket(h string) *bucket {
	if t.exactMap != nil {
		if b := t.exactMap[h]; b != nil || len(h) > maxHostLen || !hasUpperASCII(h) {
			return b // hit, longer than any configured host, or nothing to fold
		}
		var buf [maxHostLen]byte
		lb := buf[:len(h)]
		for i := range len(h) {
			lb[i] = lowerASCII(h[i])
		}
		return t.exactMap[string(lb)] // the compiler looks up without converting
	}
	for i, k := range t.exactKeys {
		if len(k) == len(h) && (k == h || equalFoldASCII(h, k)) {
			return t.exactVals[i]
		}
	}
	return nil
}

// scan returns the rule of the first candidate that fully matches, or -1.
func (b *bucket) scan(method, path string, header http.Header, rawQuery string, params *Params) int {
	if !b.indexed {
		for i := range b.cands {
			if c := &b.cands[i]; c.matches(method, path, header, rawQuery, params) {
				return c.rule
			}
		}
		return -1
	}
	for _, i := range b.candidatesFor(path) {
		if c := &b.cands[i]; c.matches(method, path, header, rawQuery, params) {
			return c.rule
		}
	}
	return -1
}

// matches reports whether the request satisfies every condition of c. On
// failure it clears any template captures it made.
func (c *candidate) matches(method, path string, header http.Header, rawQuery string, params *Params) bool {
	// The path is the most selective test, so it goes first.
	if c.path.match(path, params) && c.matchRest(method, header, rawQuery) {
		return true
	}
	if params != nil && params.Len() > 0 {
		params.Reset()
	}
	return false
}

func (c *candidate) matchRest(method string, header http.Header, rawQuery string) bool {
	if len(c.methods) > 0 {
		ok := false
		for _, m := range c.methods {
			if m == method {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for k := range c.headers {
		if !c.headers[k].matchHeader(header) {
			return false
		}
	}
	for k := range c.query {
		if !c.query[k].matchQuery(rawQuery) {
			return false
		}
	}
	return true
}
