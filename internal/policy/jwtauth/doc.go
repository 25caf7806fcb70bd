// Package jwtauth authenticates requests carrying a JSON Web Token (RFC
// 7519) as an OAuth bearer token (RFC 6750).
//
// A Provider is one trusted issuer: its algorithm allow-list, its static
// keys (HMAC secrets, PEM public keys) and optionally a JWKS URL whose
// keys are cached and refreshed in the background. An Authenticator is
// the identity.Authenticator compiled for one route: where the token is
// read from, which providers may have signed it, the claims and scopes
// the route requires and the claims forwarded upstream.
//
// Security decisions, each covered by a test:
//
//   - "none" is never accepted: it is refused in the allow-list at
//     construction, and no key is ever returned for it.
//   - A key is used only with the algorithms of its type: HMAC secrets
//     only for HS*, RSA keys only for RS* and PS*, ECDSA keys only for the
//     ES* algorithm of their curve, Ed25519 keys only for EdDSA; a JWK's
//     "alg" narrows that further. A token naming a key (kid) of another
//     type is refused rather than tried with other keys, which closes the
//     HS256-with-the-public-key confusion.
//   - "exp" is required unless ProviderConfig.AllowMissingExpiry is set
//     (Kong accepts tokens without it; every mainstream IdP sets it, and a
//     token without one is valid forever). "nbf" and "iat" are checked
//     when present; "iat" in the future is refused. All with Leeway.
//   - A key configured or published without a kid is a wildcard: it
//     verifies tokens without a kid, and tokens whose kid names no key
//     (after the JWKS refresh that kid triggers).
//   - Tokens longer than MaxTokenLength are refused before parsing.
//   - JWKS documents are bounded to MaxJWKSBytes and each fetch to
//     JWKSTimeout. Symmetric ("oct") and encryption keys in a JWKS are
//     ignored: a JWKS is public, so an HMAC key in it would let anyone
//     sign.
//   - An unknown kid triggers at most one JWKS fetch per JWKSMinRefresh
//     (callers arriving while one is in flight wait for it); a flood of
//     random kids cannot turn the gateway into a load generator against
//     the IdP. Callers never wait on the rate limit itself.
//   - When the JWKS has never been fetched successfully and a token needs
//     a key from it, the refusal is 503 (identity.Unavailable): the
//     gateway cannot decide, and a 401 would tell a client with a valid
//     token to throw it away. Once a JWKS has been loaded, a kid absent
//     from it is a 401 even while the IdP is unreachable: the cached set
//     is our best knowledge and the token names a key that is not in it.
//   - The credential (header, query parameter, cookie) is removed from the
//     request only after the token was accepted, unless KeepAuthorization
//     is set.
package jwtauth
