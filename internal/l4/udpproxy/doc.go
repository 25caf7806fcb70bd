// Package udpproxy forwards UDP datagrams of a listener to the targets of
// L4 routes, in per-client sessions.
//
// A session is keyed by the client's source address. Its first datagram
// routes it (l4.Table.Find) and picks its target (balancer.Pool.Pick; a
// hash on client_ip keeps a client on one target across sessions); the
// session then owns a connected UDP socket to the target, whose replies
// go back to the client from the listener's socket, so the client sees
// them come from the address it sent to. A session ends when its route's
// Responses count is reached (NGINX's proxy_responses), right after
// forwarding for fire-and-forget routes (Responses 0, e.g. syslog), after
// IdleTimeout without a datagram either way, when the target is drained
// or when the upstream socket fails (an ICMP port unreachable reads as
// ECONNREFUSED, which passive health checking is told about).
//
// Trade-offs:
//   - One socket and one goroutine per session, not one shared upstream
//     socket demultiplexed by hand: the kernel does the demultiplexing and
//     reports ICMP errors per target, at the price of a descriptor per
//     session — which is why the session table is bounded (MaxSessions).
//   - A reply reader waits for readability without holding a buffer and
//     borrows a MaxDatagram buffer from a pool only to read (reply_unix.go):
//     10000 idle sessions would otherwise pin 640 MiB of 64 KiB buffers.
//   - Datagrams that arrive while a session's socket is being opened (the
//     target may be a host name to resolve) wait in a small bounded queue;
//     the listener's loop never blocks on a dial.
//   - Refused datagrams (no route, no target, session table full) are
//     counted (datagrams "dropped", connections by result) but not written
//     to the access log: they come from unauthenticated sources, so one
//     line each would let anyone flood the log.
//   - UDP has no connect to retry (Backend.ConnectAttempts is unused): a
//     target that refuses ends the session, passive health hears of it,
//     and the client's next datagram opens a session that picks again.
//   - Fire-and-forget sessions read nothing back, so an ICMP port
//     unreachable from their target goes unnoticed; active udp health
//     checks cover that.
//   - The destination address routes match (and a PROXY v2 header
//     carries) is the listener socket's own: a socket bound to a wildcard
//     address has the right port but an unspecified IP (IP_PKTINFO is not
//     read).
//   - Access log close reasons: upstream_closed when the expected
//     responses came back, client_closed for a fire-and-forget datagram
//     delivered, idle_timeout, drained, shutdown, connect_failed (the
//     target refused: ICMP unreachable, or the socket could not be
//     opened) and error.
package udpproxy
