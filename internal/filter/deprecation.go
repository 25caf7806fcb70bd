package filter

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/respwriter"
)

// DeprecationConfig marks every response of a route as deprecated. The
// zero value (no Since) adds nothing: RFC 9745's Deprecation value is a
// date, there is no "deprecated, date unknown" spelling to fall back to.
type DeprecationConfig struct {
	// Since is when the resource was or will be deprecated: "Deprecation:
	// @<unix seconds>" (an RFC 9651 Date).
	Since time.Time
	// Sunset, when not zero, is when it stops answering: "Sunset: <HTTP-date>"
	// (RFC 8594).
	Sunset time.Time
	// Link, when set, documents the deprecation: a Link with
	// rel="deprecation" (RFC 9745 §3), and with rel="sunset" too when
	// Sunset is set (RFC 8594 §6: the sunset policy).
	Link string
}

// deprecation holds the header values, built once at load.
type deprecation struct {
	deprecation, sunset string
	links               []string
}

// BeforeFinal adds the headers to the final response (respwriter.Hook):
// Deprecation and Sunset replace what the upstream said (the gateway's
// configuration owns the route's lifecycle), Link values are appended to
// the upstream's own.
func (d *deprecation) BeforeFinal(h http.Header, _ int) {
	if d.deprecation == "" {
		return
	}
	h["Deprecation"] = []string{d.deprecation}
	if d.sunset != "" {
		h["Sunset"] = []string{d.sunset}
	}
	if len(d.links) > 0 {
		// A new slice each time: the compiled one is shared by every request.
		h["Link"] = append(h["Link"][:len(h["Link"]):len(h["Link"])], d.links...)
	}
}

// Deprecation adds Deprecation, Sunset and Link headers to every final
// response of the route, whatever its status (a 502 from a retired
// backend is still the deprecated API answering).
func Deprecation(c DeprecationConfig) func(http.Handler) http.Handler {
	d := &deprecation{}
	if !c.Since.IsZero() {
		d.deprecation = "@" + strconv.FormatInt(c.Since.Unix(), 10)
		if !c.Sunset.IsZero() {
			d.sunset = c.Sunset.UTC().Format(http.TimeFormat)
		}
		if c.Link != "" {
			d.links = append(d.links, "<"+c.Link+`>; rel="deprecation"; type="text/html"`)
			if d.sunset != "" {
				d.links = append(d.links, "<"+c.Link+`>; rel="sunset"; type="text/html"`)
			}
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rw := &respwriter.Writer{ResponseWriter: w, Hook: d}
			next.ServeHTTP(rw, r)
			rw.Finish()
		})
	}
}
