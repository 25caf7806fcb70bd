package filter

import "net/http"

// When makes a request-phase filter conditional: for each request, cond
// decides whether it goes through layer (wrapping next) or straight to
// next. Both handlers are built once, at construction. A nil cond is
// "always": layer is returned as it is.
//
// Response-phase filters cannot be skipped this way (the condition reads
// the response, which does not exist yet when the layer is entered);
// they take a When func in their own Config instead (HeadersConfig.When).
func When(cond func(*http.Request) bool, layer func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if cond == nil {
		return layer
	}
	return func(next http.Handler) http.Handler {
		with := layer(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cond(r) {
				with.ServeHTTP(w, r)
			} else {
				next.ServeHTTP(w, r)
			}
		})
	}
}
