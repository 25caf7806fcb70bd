// Package translate turns configuration sections into the run-time
// packages' own Configs and handlers: a route's policies (in the order
// chain.go states), filters and direct actions, and the router's match
// rules. It is the only place besides the gateway's lifecycle code that
// reads the YAML structs, so every run-time package stays free of
// `config` and keeps a small Config with a documented zero value.
//
// Each translation is one small named function per section; what needs
// process state (stores, JWT providers, metrics) comes in through Env,
// which the gateway fills for each snapshot.
package translate
