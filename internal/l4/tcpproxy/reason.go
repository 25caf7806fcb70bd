package tcpproxy

// Close reasons, the access log's "close" field. Those of a connection
// that never reached its target are also its metrics result; a connection
// that was forwarded counts as result "ok" whatever ended it.
const (
	reasonClientClosed   = "client_closed"   // the client sent EOF first
	reasonUpstreamClosed = "upstream_closed" // the target sent EOF first
	reasonIdle           = "idle_timeout"    // no byte either way for the idle timeout
	reasonDrained        = "drained"         // the target left the pool; closed after the grace period
	reasonShutdown       = "shutdown"        // the listener shut down
	reasonError          = "error"           // reset or I/O error on either side
	reasonNoRoute        = "no_route"        // no route matched
	reasonNoTarget       = "no_target"       // no available target (or all at MaxConnsPerTarget)
	reasonConnectFailed  = "connect_failed"  // every connect attempt failed
	reasonLimited        = "limited"         // over the listener's MaxConns
	reasonProxyProtocol  = "proxy_protocol"  // PROXY header refused or malformed
	reasonHandshake      = "handshake"       // TLS handshake failed (Terminate)
)

// result is the metrics result of a connection that ended with reason;
// forwarded says whether it reached the copy phase.
func result(reason string, forwarded bool) string {
	if forwarded {
		return "ok"
	}
	switch reason {
	case reasonNoRoute, reasonNoTarget, reasonConnectFailed, reasonLimited, reasonProxyProtocol, reasonHandshake:
		return reason
	}
	return reasonError // closed or failed while being routed
}
