// Package l4 holds what TCP and UDP forwarding share: the facts about a
// connection that routes match on (Conn), the route table (Table), the
// backend a route sends to (Backend) and the tracker that drains the
// connections of targets a reload removed (Tracker).
//
// The data paths live in sub-packages: tcpproxy (TCP, TLS-terminated TCP
// and SNI passthrough), udpproxy (per-client UDP sessions), clienthello
// (reading SNI and ALPN from a ClientHello without terminating TLS) and
// proxyproto (PROXY protocol v1/v2, accepted and sent).
//
// Trade-offs: routing happens once per connection (or UDP session), so
// the table is a plain ordered scan ranked by specificity rather than an
// index: L4 route lists are short and a connection costs far more than a
// scan. Upstream pools are the L7 ones (balancer.Pool), so targets,
// weights, priorities, discovery, health and slow start behave the same
// for both layers; a connection counts as one request in flight, which
// makes least_request least-connections.
package l4
