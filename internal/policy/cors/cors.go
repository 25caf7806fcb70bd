// Package cors implements Cross-Origin Resource Sharing at the gateway.
//
// The gateway owns CORS for a route that has this policy: it answers
// preflights itself (they never reach the upstream) and, on requests that
// carry an Origin, replaces whatever Access-Control-* response headers the
// upstream sent with the policy's, so a browser never sees two
// Access-Control-Allow-Origin values or an upstream's looser policy.
//
// Refusals: a preflight from an origin, or for a method or headers, the
// policy does not allow is answered 403 problem+json (not a headerless
// 2xx as Envoy does), so the refusal is visible in the browser's network
// log and the access log. An actual request from a disallowed origin is
// passed through without CORS headers: the browser then hides the
// response from the page, and same-origin callers are unaffected.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// Config is a route's CORS policy.
type Config struct {
	// AllowOrigins are exact origins as browsers send them
	// ("https://app.example.com"), "*" for any, or "null" for the opaque
	// origin, which is allowed only when listed here.
	AllowOrigins []string
	// AllowOriginRegex are RE2 expressions an origin must match whole
	// (they are anchored for you). They never match "null".
	AllowOriginRegex []string
	// AllowMethods defaults to GET, HEAD, POST; "*" allows any method
	// (the preflight's requested method is reflected). GET, HEAD and
	// POST are always allowed, as browsers do.
	AllowMethods []string
	// AllowHeaders are request headers a preflight may ask for; "*"
	// reflects the preflight's Access-Control-Request-Headers. The
	// default allows none beyond the CORS-safelisted ones. The
	// Access-Control-Allow-Headers answer is sent only to a preflight
	// that asked for headers.
	AllowHeaders []string
	// ExposeHeaders are response headers the page may read; sent on
	// preflights too (Gateway API's conformance expects them there).
	ExposeHeaders []string
	// AllowCredentials lets the page send cookies and read the response.
	// It cannot be combined with the "*" origin.
	AllowCredentials bool
	// MaxAge is how long a browser may cache a preflight; 0 sends no
	// Access-Control-Max-Age (browsers then use their default, 5s).
	MaxAge time.Duration
	// AllowPrivateNetwork answers Private Network Access preflights
	// (Access-Control-Request-Private-Network: true) affirmatively.
	AllowPrivateNetwork bool
}

// CORS is a compiled Config. It is safe for concurrent use.
type CORS struct {
	anyOrigin bool
	exact     map[string]struct{}
	regex     []*regexp.Regexp

	credentials bool
	anyMethod   bool
	methods     []string
	anyHeader   bool
	headers     []string // as configured; matched case-insensitively

	// Preformatted header values. Slices have cap == len so an append
	// by a later handler copies instead of writing into shared memory.
	methodsValue  []string
	headersValue  []string
	exposeValue   []string
	maxAgeValue   []string
	preflightVary []string

	privateNetwork bool
}

// Values shared by all requests (see the cap == len note above).
var (
	trueValue  = []string{"true"}
	starValue  = []string{"*"}
	varyOrigin = []string{"Origin"}
)

// New compiles cfg, refusing malformed origins, patterns and header or
// method names, and the "*" origin together with AllowCredentials.
func New(cfg Config) (*CORS, error) {
	c := &CORS{
		exact:          map[string]struct{}{},
		credentials:    cfg.AllowCredentials,
		privateNetwork: cfg.AllowPrivateNetwork,
	}
	for i, o := range cfg.AllowOrigins {
		if o == "*" {
			c.anyOrigin = true
			continue
		}
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("cors: allow_origins[%d]: %w", i, err)
		}
		c.exact[n] = struct{}{}
	}
	if c.anyOrigin && c.credentials {
		// Reflecting any origin with credentials would let every site
		// read authenticated responses; the Fetch spec forbids "*" there.
		return nil, errors.New(`cors: allow_origins "*" cannot be combined with allow_credentials`)
	}
	for i, s := range cfg.AllowOriginRegex {
		re, err := regexp.Compile(`^(?:` + s + `)$`)
		if err != nil {
			return nil, fmt.Errorf("cors: allow_origin_regex[%d]: %w", i, err)
		}
		c.regex = append(c.regex, re)
	}
	if !c.anyOrigin && len(c.exact) == 0 && len(c.regex) == 0 {
		return nil, errors.New("cors: no origin allowed: set allow_origins or allow_origin_regex")
	}

	methods := cfg.AllowMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	}
	for i, m := range methods {
		if m == "*" {
			c.anyMethod = true
			continue
		}
		if !h1wire.IsToken(m) {
			return nil, fmt.Errorf("cors: allow_methods[%d]: %q is not a method name", i, m)
		}
		// Browsers upper-case the standard methods; a lower-case "get"
		// in the config would otherwise never match.
		c.methods = append(c.methods, strings.ToUpper(m))
	}
	if len(c.methods) > 0 {
		c.methodsValue = []string{strings.Join(c.methods, ", ")}
	}

	for i, h := range cfg.AllowHeaders {
		if h == "*" {
			c.anyHeader = true
			continue
		}
		if !h1wire.IsToken(h) {
			return nil, fmt.Errorf("cors: allow_headers[%d]: %q is not a header name", i, h)
		}
		// Kept as configured, not canonicalised: names are
		// case-insensitive, and Gateway API's conformance compares the
		// values it configured byte for byte.
		c.headers = append(c.headers, h)
	}
	if len(c.headers) > 0 {
		c.headersValue = []string{strings.Join(c.headers, ", ")}
	}

	var expose []string
	for i, h := range cfg.ExposeHeaders {
		switch {
		case h == "*" && c.credentials:
			// With credentials "*" is a header literally named "*".
			return nil, fmt.Errorf(`cors: expose_headers[%d]: "*" cannot be combined with allow_credentials; list the headers`, i)
		case h == "*":
			expose = append(expose, h)
		case !h1wire.IsToken(h):
			return nil, fmt.Errorf("cors: expose_headers[%d]: %q is not a header name", i, h)
		default:
			expose = append(expose, h) // as configured, like allow_headers
		}
	}
	if len(expose) > 0 {
		c.exposeValue = []string{strings.Join(expose, ", ")}
	}

	switch {
	case cfg.MaxAge < 0:
		return nil, errors.New("cors: max_age must not be negative")
	case cfg.MaxAge > 0:
		c.maxAgeValue = []string{strconv.FormatInt(max(int64(cfg.MaxAge/time.Second), 1), 10)}
	}
	vary := "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	if c.privateNetwork {
		vary += ", Access-Control-Request-Private-Network"
	}
	c.preflightVary = []string{vary}
	return c, nil
}

// allowOrigin reports whether origin may read responses, and the
// Access-Control-Allow-Origin value to send.
func (c *CORS) allowOrigin(origin string) (value string, ok bool) {
	if _, ok := c.exact[origin]; ok {
		if c.anyOrigin {
			return "*", true // credentials are off with "*" (New)
		}
		return origin, true
	}
	if origin == "null" {
		return "", false // only when listed
	}
	if c.anyOrigin {
		return "*", true
	}
	if !plausibleOrigin(origin) {
		// Junk is never reflected into a header, whatever the patterns.
		return "", false
	}
	for _, re := range c.regex {
		if re.MatchString(origin) {
			return origin, true
		}
	}
	return "", false
}

// allowMethod reports whether a preflight may ask for method m. The
// CORS-safelisted methods GET, HEAD and POST always may: a browser
// accepts them whatever Access-Control-Allow-Methods says (Fetch,
// CORS-preflight fetch step 7.5), and Gateway API's CORS filter says so.
func (c *CORS) allowMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost:
		return true
	}
	if c.anyMethod {
		return h1wire.IsToken(m)
	}
	return slices.Contains(c.methods, m)
}

// allowHeaders reports whether every header named in the preflight's
// Access-Control-Request-Headers values is allowed.
func (c *CORS) allowHeaders(values []string) bool {
	for _, v := range values {
		for v != "" {
			var name string
			name, v, _ = strings.Cut(v, ",")
			name = strings.Trim(name, " \t")
			if name == "" {
				continue
			}
			if !h1wire.IsToken(name) {
				return false
			}
			if c.anyHeader {
				continue
			}
			found := false
			for _, h := range c.headers {
				if strings.EqualFold(h, name) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}
