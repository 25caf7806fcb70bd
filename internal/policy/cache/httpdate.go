package cache

import (
	"net/http"
	"time"
)

// HTTP dates (RFC 9110 §5.6.7), read strictly.
//
// Go's http.ParseTime is lenient where a cache must not be: it accepts a
// one-digit hour ("1:00:00") and space-padded days in IMF-fixdate, so a
// malformed Expires would read as a valid date and make a response fresh
// that RFC 9111 §5.3 says to treat as already expired. A value is valid
// here only when it is one field line and formatting the parsed time in
// the same format gives back exactly the input: IMF-fixdate, or one of
// the two obsolete formats recipients must still accept (rfc850-date,
// asctime-date).

var httpDateLayouts = [...]string{
	http.TimeFormat,                  // Sun, 06 Nov 1994 08:49:37 GMT
	"Monday, 02-Jan-06 15:04:05 GMT", // rfc850-date
	"Mon Jan _2 15:04:05 2006",       // asctime-date
}

// parseHTTPDate parses a date field given as its field lines. Several
// lines (two Expires fields, say) make it invalid.
func parseHTTPDate(values []string) (time.Time, bool) {
	if len(values) != 1 {
		return time.Time{}, false
	}
	s := values[0]
	for _, layout := range httpDateLayouts {
		t, err := time.Parse(layout, s)
		if err == nil && t.Format(layout) == s {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
