// Package credential holds what Gatehouse's authentication policies
// (api_key, jwt, introspection, basic_auth) share about credentials: the
// auth-scheme prefix of an Authorization value, removing an accepted
// credential from a query string or Cookie header so the upstream never
// sees it, the syntax checks and parameters of WWW-Authenticate
// challenges, bounded reads of identity-provider responses, and a small
// expiring cache for verification results.
package credential
