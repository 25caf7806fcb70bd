// Package admin serves Gatehouse's admin listener: liveness, readiness and
// Prometheus metrics, and the admin API for consumers and API keys.
package admin

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns the admin mux. ready reports whether the gateway is
// serving its configuration and not shutting down; api, when not nil,
// adds the token-protected consumer and key endpoints.
func Handler(reg *prometheus.Registry, ready func() bool, api *API) http.Handler {
	mux := http.NewServeMux()
	if api != nil {
		api.register(mux)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
