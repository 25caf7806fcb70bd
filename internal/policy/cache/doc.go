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
// cacheable and whose Cache-Control has neither no-store nor private, that
// carry no Set-Cookie, do not vary on "*", and have a freshness lifetime
// (s-maxage, else max-age, else Expires − Date, else Config.TTL). A
// no-cache response is stored but revalidated on every use. Requests
// carrying Authorization or an authenticated identity bypass the cache
// unless Config.KeyConsumer or Config.CacheAuthenticated is set.
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
