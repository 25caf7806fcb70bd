// Package problem writes RFC 9457 "problem details" error responses
// (application/problem+json), the one error format Gatehouse answers with.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem body.
const ContentType = "application/problem+json"

// Details is an RFC 9457 problem document.
type Details struct {
	Type      string `json:"type,omitempty"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// Write answers with status and a problem body. title defaults to the
// status text; detail says what happened and should not leak internals.
// Errors are rare, so this favours clarity over avoiding allocations.
func Write(w http.ResponseWriter, r *http.Request, status int, detail string) {
	WriteDetails(w, r, Details{Status: status, Detail: detail})
}

// WriteDetails answers with d, filling Title from the status when empty
// and Instance from the request path.
func WriteDetails(w http.ResponseWriter, r *http.Request, d Details) {
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	if d.Type == "" {
		d.Type = "about:blank"
	}
	if r != nil && d.Instance == "" && r.URL != nil {
		d.Instance = r.URL.EscapedPath()
	}
	if d.RequestID == "" {
		d.RequestID = w.Header().Get("X-Request-Id")
	}
	body, err := json.Marshal(d)
	if err != nil { // cannot happen for this struct; keep the response well-formed anyway
		body = []byte(`{"title":"Internal Server Error","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(d.Status)
	w.Write(append(body, '\n'))
}
