// Package filter holds a route's filters: steps between the policies and
// the action that edit the request on its way in or the response on its
// way out (Gateway API's HTTPRoute filters: header modifiers, URL
// rewrite; and query edits), JSON body transforms (body.go: the one
// place a body is held in memory, bounded, and only for JSON) and the
// deprecation headers of an old API version. Each filter is one file
// with its own small Config, compiled once at load; none reads the YAML
// structs. Filters run in the order the route lists them, the first
// outermost.
//
// Header and query values are expr templates compiled at construction; a
// value without variables costs what a plain string did. A filter may be
// conditional: request filters are wrapped by When (skipped as a whole),
// response filters take a When func in their Config, evaluated once the
// final status and header are known.
package filter
