// Package router decides which route a request belongs to.
//
// It has two halves that must agree with each other:
//
//   - Normalize turns the escaped request path into one canonical spelling, so
//     that "/public/../admin", "//admin", "/%61dmin" and "/./admin" are all
//     seen — by the matcher and by the upstream — as "/admin". Anything that
//     could mean different things to the gateway and to the upstream (an
//     encoded "/" or "\", a NUL, malformed escapes) is refused instead.
//   - Router picks the best rule for a request using the Kubernetes Gateway API
//     HTTPRoute precedence (host, then path kind and specificity, then methods,
//     headers, query parameters, then configuration order).
//
// All ordering is computed once in New; Router.Match only walks precomputed,
// sorted slices and never allocates, because it runs on every request.
package router
