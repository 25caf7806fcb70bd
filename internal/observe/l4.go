package observe

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// L4Metrics are the collectors of TCP and UDP forwarding. Labels are
// looked up per connection or session, not per byte: a connection costs
// far more than a label lookup.
type L4Metrics struct {
	conns     *prometheus.CounterVec
	active    *prometheus.GaugeVec
	bytes     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	datagrams *prometheus.CounterVec
}

func newL4Metrics() *L4Metrics {
	return &L4Metrics{
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_l4_connections_total",
			Help: "L4 connections (UDP: sessions) ended, by listener, route, upstream, target and result (ok, no_route, no_target, connect_failed, limited, proxy_protocol, handshake, error).",
		}, []string{"listener", "route", "upstream", "target", "result"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gatehouse_l4_active_connections",
			Help: "L4 connections (UDP: sessions) open now, by listener and route.",
		}, []string{"listener", "route"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_l4_bytes_total",
			Help: "Bytes forwarded by L4 connections and sessions, by listener, route, target and direction (upstream = client to target, downstream = target to client).",
		}, []string{"listener", "route", "target", "direction"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gatehouse_l4_connection_duration_seconds",
			Help:    "Lifetime of L4 connections and UDP sessions, by listener and route.",
			Buckets: []float64{.001, .005, .025, .1, .5, 1, 5, 30, 120, 600, 3600},
		}, []string{"listener", "route"}),
		datagrams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_l4_datagrams_total",
			Help: "UDP datagrams forwarded or dropped, by listener, route and direction (upstream, downstream, dropped).",
		}, []string{"listener", "route", "direction"}),
	}
}

func (l *L4Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{l.conns, l.active, l.bytes, l.duration, l.datagrams}
}

// ConnRecord is one ended connection or session, for Ended.
type ConnRecord struct {
	Listener, Route, Upstream, Target, Result string
	// Up is bytes from the client to the target, Down the other way.
	Up, Down int64
	Duration time.Duration
}

// Ended counts one connection or session that ended.
func (l *L4Metrics) Ended(r *ConnRecord) {
	l.conns.WithLabelValues(r.Listener, r.Route, r.Upstream, r.Target, r.Result).Inc()
	if r.Target != "" {
		if r.Up > 0 {
			l.bytes.WithLabelValues(r.Listener, r.Route, r.Target, "upstream").Add(float64(r.Up))
		}
		if r.Down > 0 {
			l.bytes.WithLabelValues(r.Listener, r.Route, r.Target, "downstream").Add(float64(r.Down))
		}
	}
	l.duration.WithLabelValues(r.Listener, r.Route).Observe(r.Duration.Seconds())
}

// Active is the gauge of open connections of a listener's route.
func (l *L4Metrics) Active(listener, route string) prometheus.Gauge {
	return l.active.WithLabelValues(listener, route)
}

// Datagrams counts UDP datagrams in direction upstream, downstream or
// dropped.
func (l *L4Metrics) Datagrams(listener, route, direction string) prometheus.Counter {
	return l.datagrams.WithLabelValues(listener, route, direction)
}
