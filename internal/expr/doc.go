// Package expr holds what configuration may compute per request: string
// templates over request variables (`${client_ip}`, `${header.x-tenant}`,
// `${jwt.sub}`, `${steps.user.id}`) and, in condition.go, CEL conditions
// over the same variables.
//
// Everything is compiled at load: a template becomes a list of literal
// parts and variable getters, so rendering one costs a few appends and no
// parsing; a template without variables renders its literal. Variables are
// read lazily from the request, its reqinfo.Info (route, client IP,
// request id, path parameters, identity) and, where a caller provides
// them, the response and earlier composition results.
//
// Trade-off: variables are a fixed vocabulary (see Vars and varNames)
// rather than arbitrary Go expressions, so a typo is a load error with the
// list of names, and the per-request cost is known.
package expr
