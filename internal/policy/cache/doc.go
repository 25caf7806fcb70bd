// Package cache is Gatehouse's HTTP response cache for one route: a
// shared cache in the sense of RFC 9111, in front of the route's upstream.
//
// Entries live in a Backend: the in-process memory backend (an otter
// cache bounded by bytes) by default, or the gateway's store.Store (Redis) so that every
// instance shares them. A backend that fails or is slow (each call is
// bounded by Config.Timeout) turns lookups into misses and is logged once
// per outage; it never turns a request into an error.
//
// What is stored: responses to GET whose status is configured as
// cacheable (or, with Config.ExplicitStatuses, any final status with
// explicit freshness) and whose cache directives have neither no-store nor
// private, that carry no Set-Cookie, do not vary on "*", and have a
// freshness lifetime (s-maxage, else max-age, else Expires − Date, else
// Config.TTL, else the opt-in Last-Modified heuristic), or that are stale
// on arrival (max-age=0, a past Expires, no-cache) but carry a validator,
// to be revalidated on use. The
// directives come from a targeted field when there is one (RFC 9213,
// targeted.go), else Cache-Control. A no-cache response is stored but
// revalidated on every use. Requests carrying Authorization or an
// authenticated identity bypass the cache unless Config.KeyConsumer,
// Config.CacheAuthenticated or (for Authorization with responses marked
// for it, RFC 9111 §3.5) Config.StoreAuthorized is set.
//
// How long it is kept: its freshness plus its stale windows, and for an
// entry with a validator at least Config.KeepForRevalidation (24h), so
// that a stale entry is revalidated with a conditional request rather than
// fetched again in full. The trade-off is storage: such entries occupy the
// memory backend until its byte bound evicts them, and Redis for the
// keep time.
//
// Where the HTTP caching test suite (test/conformance/cache-tests.sh)
// and RFC 9111 disagree, the RFC wins: an Age list counts by its first
// member (§5.1). Where the RFC leaves room, the conservative reading is
// taken: an Age that is not a number makes the response stale rather than
// ignored, and a 304 does not replace the fields that describe the stored
// body (fetch.go, keptOn304).
//
// Every response through the cache carries X-Cache:
//
//	HIT          served from a fresh entry (also: waiters of a coalesced miss)
//	MISS         fetched from the upstream
//	STALE        a stale entry served under stale-while-revalidate (a
//	             background refresh follows) or stale-if-error
//	REVALIDATED  a stale entry confirmed by a 304 from the upstream
//	BYPASS       not eligible (request no-store, credentials, preconditions, Range)
//
// and entries served from storage carry Age (the upstream's Age when
// stored plus the time since).
//
// Concurrent misses for one key are coalesced: one request goes upstream
// and streams its response to its own client while capturing it (up to
// Config.MaxBodyBytes); the others wait, bounded by their own request
// contexts, and are served the captured entry with X-Cache: HIT. When the
// response turns out not to be storable, each waiter goes upstream itself.
//
// See key.go for the key layout, which makes PurgePrefix one store prefix
// delete.
package cache
