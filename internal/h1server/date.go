package h1server

import (
	"net/http"
	"sync/atomic"
	"time"
)

type dateCache struct {
	sec  int64
	line []byte // "Date: ...\r\n"
}

var curDate atomic.Pointer[dateCache]

// dateLine returns the Date header line for now, formatted once per second
// and shared read-only by all connections.
func dateLine() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := curDate.Load(); d != nil && d.sec == sec {
		return d.line
	}
	b := make([]byte, 0, 40)
	b = append(b, "Date: "...)
	b = now.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, '\r', '\n')
	curDate.Store(&dateCache{sec: sec, line: b})
	return b
}
