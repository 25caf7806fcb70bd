package balancer

// least_connections is HAProxy's leastconn and NGINX's least_conn: the
// target with the fewest open connections, relative to weight. It is the
// least_request algorithm under the name L4 users know: the L4 proxies
// count a connection (a UDP session) as one request in flight for its
// whole life (Target.Begin at connect, End at close), so "fewest in
// flight" is "fewest connections". HTTP routes may use either name; for
// them a pooled keep-alive connection is not a unit of load, a request is.
const leastConnections = "least_connections"
