package cache

import (
	"net/http"
	"strings"
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
// asctime-date). The day name is not compared: it is redundant with the
// date, and a wrong or upper-case one does not make the date ambiguous.

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
		if err == nil && afterDayName(t.Format(layout)) == afterDayName(s) {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// afterDayName is a formatted date without its leading day name.
func afterDayName(s string) string {
	if i := strings.IndexAny(s, ", "); i >= 0 {
		return s[i:]
	}
	return s
}
