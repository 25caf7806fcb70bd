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
// Conditions (`when:`) are CEL (github.com/google/cel-go), type-checked
// at load against the variables of their scope, so `status == "x"` or a
// result that is not a bool is a load error with CEL's line:column. They
// are evaluated through a lazy activation (only the variables the
// expression names are read; a header lookup reads the http.Header and
// builds no map). An evaluation is bounded by CostLimit: a condition
// whose worst case the estimator can bound under it runs untracked, any
// other is tracked and stopped. An evaluation error is false.
// Trade-off: CEL costs a few hundred nanoseconds per evaluation where a
// hand-written matcher would cost tens, in exchange for a documented,
// total, side-effect-free language users already know from Kubernetes.
//
// Templates and conditions read variables through the same accessors
// (vars.go): there is one definition of what client_ip or path is.
//
// Trade-off: variables are a fixed vocabulary (see Vars and varNames)
// rather than arbitrary Go expressions, so a typo is a load error with the
// list of names, and the per-request cost is known.
package expr
