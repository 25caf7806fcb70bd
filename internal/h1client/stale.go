package h1client

// Staleness of idle pooled connections.
//
// An origin closes a keep-alive connection it finds idle for longer than
// its own timeout (Node.js 5 s, gunicorn 2 s, uvicorn 5 s, puma 20 s), often
// far sooner than this pool's IdleTimeout. Its FIN then sits in the
// socket's receive queue. net/http's Transport notices it because each
// connection has a goroutine blocked in Read; NGINX because its idle
// upstream connections stay registered for readability. This transport has
// no goroutine per connection, so it asks the socket once, at checkout:
// an idle connection must have nothing to read (RFC 9112 §9.3: a server
// sends nothing unsolicited on an idle connection), so readable means
// closed (EOF), reset, or out of sync (unexpected bytes); it is discarded.
//
// The probe is one non-blocking read(2) through syscall.RawConn.Read with
// a callback that always reports done, so it never parks on the poller
// and allocates nothing (BenchmarkIdleProbe). A close that races with the
// checkout (FIN arriving after the probe) is left to the retry on a fresh
// connection in RoundTrip.

// probe results, set by the callback.
const (
	probeUnknown = iota
	probeIdle    // nothing to read: the connection looks usable
	probeDead    // EOF, an error or unexpected bytes
)
