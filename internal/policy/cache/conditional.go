package cache

import (
	"net/http"
	"net/textproto"
	"strings"
)

// notModified evaluates a client's If-None-Match / If-Modified-Since
// against a 200 response's validators (RFC 9110 §13.2.2): If-None-Match
// takes precedence and uses the weak comparison; If-Modified-Since is
// used only without it, and only when the response has Last-Modified.
func notModified(inm, ims, etag, lastModified string) bool {
	if inm != "" {
		return etagListMatches(inm, etag)
	}
	if ims == "" || lastModified == "" {
		return false
	}
	since, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	lm, err := http.ParseTime(lastModified)
	if err != nil {
		return false
	}
	return !lm.After(since)
}

// etagListMatches reports whether the If-None-Match list contains etag
// ("*" matches any current representation) under weak comparison: "W/"
// prefixes are ignored on both sides.
func etagListMatches(list, etag string) bool {
	if etag == "" {
		return false
	}
	want := opaqueTag(etag)
	for list != "" {
		list = strings.TrimLeft(list, " \t")
		if list == "" {
			break
		}
		if list[0] == '*' {
			return true
		}
		tag := list
		// An entity-tag is [W/]"…": find its closing quote (commas may
		// appear inside the quotes only in malformed input; be lenient).
		rest := ""
		start := 0
		if strings.HasPrefix(tag, "W/") {
			start = 2
		}
		if start < len(tag) && tag[start] == '"' {
			if j := strings.IndexByte(tag[start+1:], '"'); j >= 0 {
				end := start + 1 + j + 1
				tag, rest = tag[:end], tag[end:]
			}
		}
		if rest == "" && tag == list {
			tag, rest, _ = strings.Cut(list, ",")
		}
		if opaqueTag(textproto.TrimString(tag)) == want {
			return true
		}
		if i := strings.IndexByte(rest, ','); i >= 0 {
			list = rest[i+1:]
		} else {
			list = ""
		}
	}
	return false
}

func opaqueTag(t string) string { return strings.TrimPrefix(t, "W/") }
