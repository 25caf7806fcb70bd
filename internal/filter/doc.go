// Package filter holds a route's filters: steps between the policies and
// the action that edit the request on its way in or the response on its
// way out (Gateway API's HTTPRoute filters: header modifiers, URL
// rewrite), JSON body transforms (body.go: the one place a body is held
// in memory, bounded, and only for JSON) and the deprecation headers of
// an old API version. Each filter is one file with its own small Config,
// compiled once at load; none reads the YAML structs. Filters run in the
// order the route lists them, the first outermost.
package filter
