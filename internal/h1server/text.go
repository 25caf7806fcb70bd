package h1server

import (
	"strconv"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// hostTable is httpguts.ValidHostHeader's byte set: what net/http accepts in
// a Host header.
var hostTable = func() (t [256]bool) {
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

// pathSafe marks the bytes for which net/url leaves a path unescaped
// (shouldEscape(c, encodePath) == false) and that need no unescaping: a
// request target made of these alone parses to URL{Path: target} without
// calling url.ParseRequestURI.
var pathSafe = func() (t [256]bool) {
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostTable[h[i]] {
			return false
		}
	}
	return true
}

// headerHasToken reports whether any of the field's values lists token.
func headerHasToken(vv []string, token string) bool {
	for _, v := range vv {
		if h1wire.HasToken(v, token) {
			return true
		}
	}
	return false
}

// statusLines caches "HTTP/1.x NNN Text\r\n" for the codes net/http names.
var statusLines = func() (t [2][600][]byte) {
	for code := 100; code < 600; code++ {
		for minor := 0; minor < 2; minor++ {
			t[minor][code] = appendStatusLine(nil, minor, code)
		}
	}
	return t
}()

func appendStatusLine(b []byte, minor, code int) []byte {
	if minor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := statusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}
