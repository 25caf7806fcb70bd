package auth

import (
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// writeRefusal answers a refused request: a relayed external-auth
// response, or a problem body with the right status and challenges
// (every method's on a 401 without one of its own, RFC 9110 §11.6.1).
func writeRefusal(w http.ResponseWriter, r *http.Request, err error, methods []identity.Authenticator) {
	var e *identity.Error
	if !errors.As(err, &e) {
		e = identity.Unauthorized("invalid credentials", "", err)
	}
	if info := reqinfo.FromContext(r.Context()); info != nil && e.Err != nil {
		info.UpstreamError = e.Err.Error() // for the access log; never sent
	}
	if resp := e.Response; resp != nil {
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
		return
	}
	if e.Status == http.StatusUnauthorized {
		if e.Challenge != "" {
			w.Header().Add("WWW-Authenticate", e.Challenge)
		} else {
			for _, m := range methods {
				if c := m.Challenge(); c != "" {
					w.Header().Add("WWW-Authenticate", c)
				}
			}
		}
	} else if e.Challenge != "" {
		// 403 insufficient_scope (RFC 6750 §3.1) also carries a challenge.
		w.Header().Add("WWW-Authenticate", e.Challenge)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	problem.Write(w, r, status, e.Detail)
}
