package observe

import (
	"context"
	"log/slog"
	"time"
)

// ConnEntry is one L4 connection's (or UDP session's) access log record.
type ConnEntry struct {
	Time     time.Time
	Listener string
	Route    string
	// Proto is tcp, tls (terminated) or udp.
	Proto    string
	ClientIP string
	SNI      string
	Upstream string
	Target   string
	// BytesUp is client → target, BytesDown target → client.
	BytesUp, BytesDown int64
	Duration           time.Duration
	// Close says why it ended: client_closed, upstream_closed, idle_timeout,
	// drained, shutdown, error, no_route, no_target, connect_failed,
	// limited, proxy_protocol, handshake.
	Close string
}

// LogConn writes e as one line with msg "connection".
func (a *AccessLog) LogConn(e *ConnEntry) {
	a.logger.LogAttrs(context.Background(), slog.LevelInfo, "connection",
		slog.String("listener", e.Listener),
		slog.String("route", e.Route),
		slog.String("proto", e.Proto),
		slog.String("client_ip", e.ClientIP),
		slog.String("sni", e.SNI),
		slog.String("upstream", e.Upstream),
		slog.String("upstream_target", e.Target),
		slog.Int64("bytes_up", e.BytesUp),
		slog.Int64("bytes_down", e.BytesDown),
		slog.Float64("duration_ms", float64(e.Duration.Microseconds())/1000),
		slog.String("close", e.Close),
	)
}
