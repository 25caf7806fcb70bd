package cache

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// fetch is one upstream request made on the cache's behalf: a miss, a
// revalidation of a stale entry, or a background refresh.
type fetch struct {
	key      string // primary key
	storeKey string // where the response is stored (a Vary variant's key once known)
	// stale is the stored entry being revalidated, nil on a miss.
	stale *entry
	// sieOK: an upstream 5xx may be answered with stale (stale-if-error).
	sieOK bool
	// authorized: the request carries Authorization (Config.StoreAuthorized),
	// so only a response marked for it is stored (RFC 9111 §3.5).
	authorized bool
	// conditional: we sent stale's validators, so a 304 refreshes it.
	conditional bool
	// clientINM and clientIMS are the client's own conditional headers,
	// taken off the upstream request (we want a full response to store)
	// and evaluated against the result instead.
	clientINM, clientIMS string
}

// fetchShared fetches for r, coalescing with concurrent fetches of the
// same key when share is set. Waiters are served the leader's entry
// (X-Cache: HIT, or STALE if the leader fell back to stale on error); when
// the leader's response could not be stored, each waiter goes upstream
// itself. A waiter gives up when its request context ends.
func (c *Cache) fetchShared(next http.Handler, w http.ResponseWriter, r *http.Request, f *fetch, share bool) {
	if !share {
		c.fetch(next, w, r, f, nil)
		return
	}
	call, leader := c.flights.join(f.storeKey)
	if leader {
		c.fetch(next, w, r, f, call)
		return
	}
	select {
	case <-call.done:
	case <-r.Context().Done():
		if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			problem.Write(w, r, http.StatusGatewayTimeout, "timed out waiting for the upstream response")
		}
		return // the client has gone
	}
	res := call.res
	if res.e != nil && (len(res.e.vary) == 0 || string(appendVary(nil, res.e.vary, r.Header, c.cfg.VaryFoldCase)) == res.varySig) {
		c.serveEntry(w, r, res.e, res.label, c.now())
		return
	}
	c.fetch(next, w, r, f, nil)
}

// fetch runs the upstream request. w is nil for a background refresh.
// As leader of call it publishes the result to waiters before writing the
// entry to the backend, and leaves the flight only after that write, so
// no request in between starts a second fetch.
func (c *Cache) fetch(next http.Handler, w http.ResponseWriter, r *http.Request, f *fetch, call *call) {
	ureq := c.upstreamRequest(r, f)
	cw := &captureWriter{c: c, w: w, f: f, hdr: make(http.Header), now: c.now()}
	done := false
	if call != nil {
		defer func() {
			if !done { // next panicked (http.ErrAbortHandler): waiters go upstream
				call.finish(flightResult{})
				c.flights.forget(f.storeKey, call)
			}
		}()
	}
	next.ServeHTTP(cw, ureq)
	done = true
	if cw.mode == modeNone {
		cw.WriteHeader(http.StatusOK) // the handler wrote nothing: an empty 200
	}
	var res flightResult
	var store func()
	switch cw.mode {
	case modeRevalidated:
		e, storable := c.refreshed(f.stale, cw.hdr, cw.now)
		e.shared = call != nil
		if w != nil {
			if sc := cw.hdr["Set-Cookie"]; len(sc) > 0 {
				w.Header()["Set-Cookie"] = sc
			}
			c.serveEntry(w, r, e, Revalidated, cw.now)
		}
		if storable {
			res = flightResult{e: e, label: Hit}
			store = func() { c.store(f, r, e) }
		} else {
			store = func() { c.deleteVariants(f.key) }
		}
	case modeStaleError:
		f.stale.shared = call != nil
		if w != nil {
			c.serveEntry(w, r, f.stale, Stale, cw.now)
		}
		res = flightResult{e: f.stale, label: Stale}
	case modePass:
		cw.copyTrailers()
		if r.Context().Err() != nil && w != nil {
			break // the client went away: the copy may be incomplete
		}
		if e := cw.entry(); e != nil {
			e.shared = call != nil
			res = flightResult{e: e, label: Hit}
			store = func() { c.store(f, r, e) }
		}
	}
	if res.e != nil && len(res.e.vary) > 0 {
		res.varySig = string(appendVary(nil, res.e.vary, r.Header, c.cfg.VaryFoldCase))
	}
	if call != nil {
		call.finish(res)
	}
	if store != nil {
		if w != nil && !c.inProcess {
			// Let the client have the whole response before the store
			// round trip; otherwise its tail sits in the server's buffer.
			http.NewResponseController(w).Flush()
		}
		store()
	}
	if call != nil {
		c.flights.forget(f.storeKey, call)
	}
}

// upstreamRequest is r with the client's conditional headers replaced by
// the stale entry's validators, so the upstream answers either 304 (for
// us) or a full response we can store. r itself is left untouched.
func (c *Cache) upstreamRequest(r *http.Request, f *fetch) *http.Request {
	f.clientINM, f.clientIMS = r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
	var etag, lm string
	if f.stale != nil {
		etag, lm = f.stale.etag, f.stale.lastModified
	}
	if f.clientINM == "" && f.clientIMS == "" && etag == "" && lm == "" {
		return r
	}
	u := r.Clone(r.Context())
	delete(u.Header, "If-None-Match")
	delete(u.Header, "If-Modified-Since")
	if etag != "" {
		u.Header["If-None-Match"] = []string{etag}
	}
	if lm != "" {
		u.Header["If-Modified-Since"] = []string{lm}
	}
	f.conditional = etag != "" || lm != ""
	return u
}

// refreshed merges a 304's headers into the stale entry (RFC 9111
// §4.3.4, §3.2): every field the 304 carries replaces the stored one,
// except those the stored body depends on (keptOn304) and the fields
// never stored (hop-by-hop, Set-Cookie, Age: see storedFields).
// It recomputes the entry's freshness and restarts its age. storable is
// false when the merged headers now forbid storing it.
func (c *Cache) refreshed(old *entry, h304 http.Header, now time.Time) (*entry, bool) {
	merged := make(http.Header, len(old.fields)+len(h304))
	for _, f := range old.fields {
		merged[f.name] = f.vals
	}
	for k, vs := range h304 {
		if keptOn304[k] || k == "Set-Cookie" {
			continue // cookies go to this client only
		}
		merged[k] = vs
	}
	fr, ok := c.storable(old.status, merged, now)
	if c.ownField != "" {
		delete(merged, c.ownField)
	}
	e := &entry{
		status: old.status, fields: storedFields(merged, fr.withheld), body: old.body, stored: now,
		lifetime: fr.lifetime, swr: fr.swr, sie: fr.sie, age0: fr.age0,
		noCache: fr.noCache, noStale: fr.noStale, authOK: fr.authOK,
	}
	e.derive()
	return e, ok
}

// keptOn304 are the stored fields a 304 does not replace: they describe
// the stored body's bytes (its length, coding, range and digest) or name
// the stored representation (ETag, which the 304 confirmed by matching
// our If-None-Match). A 304 that disagrees would leave the stored body
// misdescribed; RFC 9111 §3.2 lets a cache keep exactly the fields
// "necessary to assure integrity of the stored response", and
// Content-Length it must keep.
var keptOn304 = map[string]bool{
	"Content-Length": true, "Content-Encoding": true, "Content-Range": true,
	"Content-Md5": true, "Etag": true,
}

// store writes e (and, when it varies, the vary index) to the backend.
func (c *Cache) store(f *fetch, r *http.Request, e *entry) {
	ttl := c.retention(e)
	if len(e.vary) == 0 {
		c.set(f.key, encodeEntry(e), ttl)
		return
	}
	c.set(f.key, encodeVaryIndex(e.vary), ttl)
	c.set(string(appendVary([]byte(f.key), e.vary, r.Header, c.cfg.VaryFoldCase)), encodeEntry(e), ttl)
}

// retention is how long the backend keeps an entry: its remaining
// freshness plus the longest stale window, and for an entry with a
// validator at least Config.KeepForRevalidation, during which a stale
// entry is revalidated with a cheap conditional request instead of
// fetched again in full. Storage stays bounded: the memory backend
// evicts by its byte bound first (S3-FIFO), and Redis drops the entry
// when the retention ends.
func (c *Cache) retention(e *entry) time.Duration {
	keep := max(e.lifetime-e.age0, 0) + max(e.swr, e.sie) + time.Second
	if e.hasValidator() {
		keep = max(keep, c.keep)
	}
	return keep
}

// refreshAsync refreshes a stale entry in the background, at most one
// refresh per stored key at a time (stale-while-revalidate).
func (c *Cache) refreshAsync(next http.Handler, r *http.Request, key, storeKey string, e *entry) {
	c.refreshMu.Lock()
	if c.refreshing[storeKey] {
		c.refreshMu.Unlock()
		return
	}
	c.refreshing[storeKey] = true
	c.refreshMu.Unlock()

	// Detached from the client, which already has its answer; with a copy
	// of the request Info so that the proxy's notes (target, attempts) do
	// not race with the access log of the request that triggered this.
	ctx := context.WithoutCancel(r.Context())
	if info := reqinfo.FromContext(r.Context()); info != nil {
		cp := *info
		ctx = reqinfo.NewContext(ctx, &cp)
	}
	ctx, cancel := context.WithTimeout(ctx, backgroundTimeout)
	br := r.Clone(ctx)
	br.Method = http.MethodGet
	br.Body = http.NoBody
	delete(br.Header, "If-None-Match")
	delete(br.Header, "If-Modified-Since")
	f := &fetch{key: key, storeKey: storeKey, stale: e}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer cancel()
		defer func() {
			c.refreshMu.Lock()
			delete(c.refreshing, storeKey)
			c.refreshMu.Unlock()
		}()
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler {
				c.log.Error("cache background refresh panicked", "key", storeKey, "panic", v)
			}
		}()
		c.fetch(next, nil, br, f, nil)
	}()
}
