package h1client

import (
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// The origin's advertised idle timeout.
//
// Many origins say how long they keep an idle connection open: Node.js
// and Apache send "Keep-Alive: timeout=5" (the parameter is described in
// RFC 2068 §19.7.1.1 and draft-thomson-hybi-http-timeout: the minimum
// time the server keeps an idle connection). A pooled connection idle for
// close to that long is about to be closed by the origin, and reusing it
// then races with the close: the readability probe (stale.go) cannot see
// a FIN that is still to come, and the retry on a fresh connection cannot
// replay a body larger than maxReplayBytes. So such a connection expires
// from the pool keepAliveMargin before the origin's timeout, and the race
// does not happen with these origins, whatever Config.IdleTimeout says.

// keepAliveMargin is how much sooner than the origin's advertised timeout
// a pooled connection expires: the origin's clock started when it sent
// the response, ours when the body was read, and a reused request must
// still reach it before its timer fires. For timeouts of 2 s or less the
// margin is half the timeout.
const keepAliveMargin = time.Second

// keepAliveLimit returns how long a connection may stay idle given the
// response's Keep-Alive field values, or 0 when they name no timeout. An
// advertised timeout too short to leave any time gives a negative limit:
// the connection is not pooled.
func keepAliveLimit(vv []string) time.Duration {
	for _, v := range vv {
		for v != "" {
			var param string
			param, v, _ = strings.Cut(v, ",")
			name, val, ok := strings.Cut(strings.Trim(param, " \t"), "=")
			if !ok || !strings.EqualFold(strings.Trim(name, " \t"), "timeout") {
				continue
			}
			n, ok := h1wire.ParseDecimal(strings.Trim(val, " \t"))
			if !ok {
				return 0 // malformed: ignored, as if absent
			}
			if n > int64(time.Hour/time.Second) {
				return 0 // longer than any pool keeps a connection
			}
			d := time.Duration(n) * time.Second
			if d <= 0 {
				return -1
			}
			return d - min(keepAliveMargin, d/2)
		}
	}
	return 0
}
