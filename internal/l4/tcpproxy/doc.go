// Package tcpproxy forwards TCP connections to L4 routes: plain TCP
// (Plain), TLS terminated here with plain TCP to the target (Terminate),
// and TLS passed through by SNI on a listener that serves HTTPS for every
// other name (Mixed). One goroutine pair per connection copies bytes both
// ways; routing, target choice and connect retry happen once, before.
//
// Trade-offs:
//
//   - Splice. For Plain and passthrough both ends are *net.TCPConn and the
//     copy is io.Copy(upstream, client) and io.Copy(client, upstream) on
//     those values: Go then moves the bytes with splice(2) through a kernel
//     pipe, without copying them into user space. Any wrapper (a counting
//     reader, a bufio.Reader, a conn with replayed bytes) would silently
//     turn that into a 32 KiB read/write loop, so there is none: byte
//     counts come from io.Copy's return values, and the bytes read before
//     the copy (the rest of a PROXY header, a peeked ClientHello) are
//     written to the target first, then the raw socket is copied. Terminate
//     copies through crypto/tls and cannot splice.
//
//   - Read/write first. Each direction starts with read and write through
//     a pooled 16 KiB buffer and moves to splice once a read fills it or
//     64 KiB have passed (pipe.go), as HAProxy splices only streams that
//     fill its buffers: for the few bytes of a short connection or an
//     interactive protocol, splice's two calls through a pipe cost more
//     kernel time than read and write (measured with bench/l4/compare.sh:
//     about 20% less CPU per short connection).
//
//   - Idle timeout ("inactivity both ways", HAProxy's timeout client/server,
//     NGINX's proxy_timeout). A splicing io.Copy cannot refresh a deadline
//     per read, and an atomic counter updated per read needs the wrapper
//     splice forbids. Instead each connection has one timer that fires
//     every idle/4: when no byte was counted for idle it closes the
//     connection, otherwise it sets both sockets' read deadlines in the
//     past. That returns each io.Copy that is waiting for data with the
//     bytes it moved so far (they are counted and stamp the activity time)
//     and the copy resumes at once. Only read deadlines are used: a read
//     deadline stops splice before it takes bytes out of the socket, so
//     nothing is lost, whereas a write deadline could fire with bytes
//     still in splice's pipe. Limits, precisely: activity is stamped when
//     it is counted, up to idle/4 after the byte moved, so a silent
//     connection is closed between idle and 1.5×idle after its last byte;
//     and a direction blocked writing to a peer that does not read shows
//     no progress until splice has handed over what it holds (up to one
//     pipe, 1 MiB), so a peer that accepts less than about 1 MiB per idle
//     period while nothing else moves counts as idle. A connection whose
//     both peers stop reading is closed after idle rather than held
//     forever. The cost is one timer per connection and, on a busy
//     connection, one extra splice call per idle/4.
//
//   - Peeking. The ClientHello is read only when the route table matches on
//     SNI or ALPN (or in Mixed mode, which must tell passthrough names from
//     HTTPS): that costs a read system call, a buffer of the hello's size
//     (bounded by clienthello.MaxHelloBytes) and one extra write of those
//     bytes to the target. A listener whose routes match only on addresses
//     and ports reads nothing before connecting. Peeking is bounded by
//     PeekTimeout; a client that sends nothing by then (server-first
//     protocols such as SMTP) is routed as a connection without SNI, as
//     HAProxy does after tcp-request inspect-delay.
//
//   - Half-close. When one direction reaches EOF the other side's write
//     half is shut (CloseWrite; for TLS a close_notify, then the TCP FIN)
//     and the other direction keeps flowing until it ends too; an error or
//     reset on either side closes both at once, with a reset (SO_LINGER 0)
//     so the peer does not mistake a truncated stream for a complete one.
//     Without an idle timeout a half-closed connection lives until its other
//     direction ends too (HAProxy bounds that with timeout client-fin; here
//     the idle timeout does).
//
//   - Connect. A failed connect is retried on another target (up to
//     Backend.ConnectAttempts), so a dead target costs no client its
//     connection while another is up; each outcome feeds passive health
//     (Backend.Report) and the target's latency estimate. A target at
//     Backend.MaxConnsPerTarget is skipped like an unavailable one.
package tcpproxy
