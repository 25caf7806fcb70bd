// Package auth is a route's authentication and authorization step: it
// runs the route's authentication methods (api_key, jwt, introspection,
// basic, mtls, ext_auth: each its own package behind
// identity.Authenticator), then its access rule, records the identity on
// the request and asserts it to the upstream in identity headers.
//
// Trade-off: the first method that finds its credential decides, so a
// request carrying a bad API key and a good JWT is refused. Trying every
// method until one accepts would let a client probe each method's
// credentials on one request and makes the method that spoke for the
// request depend on the order of failures.
package auth
