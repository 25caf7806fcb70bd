// Package waf is Gatehouse's web application firewall: an HTTP middleware
// running Coraza v3 with the OWASP Core Rule Set (CRS v4) embedded in the
// binary, so no rule files need to be deployed.
//
// # Loading and sharing
//
// Parsing the CRS costs about 120 ms and 20 MB of heap, so New keeps a
// process-wide cache of loaded rule engines keyed by the generated SecLang
// text, which is a canonical form of everything in Config that affects the
// rules (ExcludeRules are sorted and deduplicated first; Mode and Logger do
// not affect the engine, so block and detect routes share one). Twenty routes
// with the same settings load the CRS once. Cache entries are held weakly:
// when no WAF uses an engine any more the garbage collector frees it and its
// Coraza memoization entries are released, so configuration reloads do not
// accumulate engines.
//
// # Modes
//
// The engine always runs with SecRuleEngine On. In "block" mode an
// interruption answers 403 application/problem+json (or the 4xx/5xx status
// the rule asked for, e.g. 400 for an unparsable body) and logs "waf blocked".
// In "detect" mode the same interruption is logged as "waf detected" and the
// request is passed on untouched. Running the engine On in both modes lets
// them share a cached engine; the CRS scores anomalies and decides only in
// its blocking-evaluation rules, so detect mode sees the same verdict.
//
// # Request bodies
//
// The first RequestBodyLimit bytes (default 128 KiB) of a request body are
// buffered in memory, inspected, and then replayed to the next handler
// followed by the unread rest of the body, so the upstream always receives
// the full body while memory stays bounded. Bodies longer than the limit are
// inspected partially (SecRequestBodyLimitAction ProcessPartial): the bytes
// beyond the limit are not inspected. A truncated JSON or XML body cannot
// parse, so the "failed to parse request body" rule (200002) is skipped for
// truncated bodies; Coraza still inspects, best effort, the arguments it
// could read from the prefix. Raise RequestBodyLimit on routes whose
// legitimate bodies are larger and must be fully inspected.

package waf
