// Package gateway is the lifecycle of one Gatehouse process: it loads the
// configuration, builds a snapshot of listeners, routes and upstream
// pools from it (the translation is gateway/translate's), swaps it in
// without dropping a request (hitless reload on SIGHUP or a file change),
// and shuts down gracefully on SIGTERM/SIGINT.
//
// Trade-off: everything that can fail — compiling, building policies,
// binding sockets, starting discovery — happens before the swap, so a
// bad reload changes nothing; the price is that a reload briefly holds
// two snapshots (and, for a changed listener, two servers) in memory.
package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/entry"
	"github.com/gatehouse/gatehouse/internal/health"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/tcpproxy"
	"github.com/gatehouse/gatehouse/internal/listener"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
)

// Gateway is one running Gatehouse process.
type Gateway struct {
	path          string
	load          Loader
	log           *slog.Logger
	metrics       *observe.Metrics
	healthMetrics *health.Metrics
	stickyKey     []byte // signs sticky cookies of upstreams without a secret

	mu        sync.Mutex // serialises reloads and shutdown
	cfg       *config.Config
	entries   map[string]*entry.Entry
	servers   map[string]*listener.Server
	sockets   map[string]*listener.Socket // by listener name; kept while the address is
	certs     map[string]*atomic.Pointer[listener.Certificates]
	upstreams map[string]*upstream
	l4        l4State
	accessLog *observe.AccessLog
	admin     *http.Server
	adminLn   net.Listener
	ready     atomic.Bool
	wg        sync.WaitGroup // background drains and old-server shutdowns

	sec       security                  // key store and JWT providers; under mu
	published atomic.Pointer[published] // what the admin API reads
	cacheOnce sync.Once
	cacheMem  cache.Backend // in-memory response cache, see cacheMemory
}

// Loader produces the configuration to serve: Start and every Reload
// call it. It returns validated configuration (config.Load's contract).
type Loader func() (*config.Config, error)

// New returns a gateway that will load its configuration from path with
// config.Load.
func New(path string, log *slog.Logger) *Gateway {
	return NewWithLoader(path, func() (*config.Config, error) { return config.Load(path) }, log)
}

// NewWithLoader returns a gateway whose configuration comes from load,
// such as Gatehouse YAML merged with translated Kubernetes manifests;
// path is still what is watched for changes and named in logs.
func NewWithLoader(path string, load Loader, log *slog.Logger) *Gateway {
	m := observe.NewMetrics()
	hm, err := health.NewMetrics(m.Registry)
	if err != nil { // a name clash in our own registry: a programming error
		panic(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &Gateway{
		path: path, load: load, log: log, metrics: m, healthMetrics: hm, stickyKey: key,
		entries: map[string]*entry.Entry{}, servers: map[string]*listener.Server{}, sockets: map[string]*listener.Socket{},
		certs: map[string]*atomic.Pointer[listener.Certificates]{}, upstreams: map[string]*upstream{},
		l4: l4State{tracker: l4.NewTracker(), running: map[string]*l4Running{},
			mixers: map[string]*tcpproxy.Server{}, mixKeys: map[string]string{}},
	}
}

// Start loads the configuration and starts serving it.
func (g *Gateway) Start() error {
	cfg, err := g.load()
	if err != nil {
		g.metrics.Reloaded(false)
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	debug.SetGCPercent(cfg.Runtime.GCPercent)
	if g.accessLog, err = observe.OpenAccessLog(cfg.AccessLog.Path); err != nil {
		return err
	}
	if err := g.apply(cfg); err != nil {
		g.metrics.Reloaded(false)
		return err
	}
	g.metrics.Reloaded(true)
	if cfg.Admin != nil {
		ln, err := net.Listen("tcp", cfg.Admin.Address)
		if err != nil {
			return fmt.Errorf("admin listener %s: %w", cfg.Admin.Address, err)
		}
		g.adminLn = ln
		g.admin = &http.Server{
			Handler:           admin.Handler(g.metrics.Registry, g.ready.Load, g.adminAPI()),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
		}
		go g.admin.Serve(ln)
	}
	g.ready.Store(true)
	g.log.Info("gatehouse started", "config", g.path, "listeners", len(cfg.Listeners), "routes", len(cfg.Routes), "upstreams", len(cfg.Upstreams))
	return nil
}

// Reload loads the configuration again and swaps it in. On any error the
// running configuration keeps serving and every error is logged.
func (g *Gateway) Reload() error {
	cfg, err := g.load()
	if err == nil {
		g.mu.Lock()
		err = g.apply(cfg)
		g.mu.Unlock()
	}
	if err != nil {
		g.metrics.Reloaded(false)
		var errs config.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				g.log.Error("reload rejected; keeping the running configuration", "error", e.Error())
			}
		} else {
			g.log.Error("reload rejected; keeping the running configuration", "error", err.Error())
		}
		return err
	}
	g.metrics.Reloaded(true)
	g.log.Info("configuration reloaded", "listeners", len(cfg.Listeners), "routes", len(cfg.Routes), "upstreams", len(cfg.Upstreams))
	return nil
}

// stopLater shuts a replaced server down in the background, letting its
// in-flight requests finish, then closes its socket if it has one of its own.
func (g *Gateway) stopLater(s *listener.Server, sock *listener.Socket, grace time.Duration) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		s.Shutdown(ctx)
		if sock != nil {
			sock.Close()
		}
	}()
}

// closeIdleLater closes a replaced transport's idle connections after the
// requests still using it have had time to finish.
func (g *Gateway) closeIdleLater(rt http.RoundTripper, grace time.Duration) {
	c, ok := rt.(interface{ CloseIdleConnections() })
	if !ok {
		return
	}
	time.AfterFunc(grace, c.CloseIdleConnections)
}

// Shutdown stops accepting connections, lets in-flight requests finish
// within the configured grace period, and closes everything.
func (g *Gateway) Shutdown() {
	g.ready.Store(false)
	g.mu.Lock()
	grace := config.DefaultGracePeriod
	if g.cfg != nil {
		grace = g.cfg.Shutdown.GracePeriod
	}
	servers, sockets := g.servers, g.sockets
	g.servers, g.sockets = map[string]*listener.Server{}, map[string]*listener.Socket{}
	g.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.Shutdown(ctx) }()
	}
	// Stop accepting at once: the servers' listeners are hand-offs, so the
	// sockets themselves must close for new connections to be refused.
	for _, sock := range sockets {
		sock.Close()
	}
	wg.Add(1)
	go func() { defer wg.Done(); g.shutdownL4(grace) }()
	wg.Wait()
	if g.admin != nil {
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		g.admin.Shutdown(actx)
		acancel()
	}
	for _, u := range g.upstreams {
		if u.resolver != nil {
			u.resolver.Stop()
		}
		u.health.stop()
		if c, ok := u.transport.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
	g.mu.Lock()
	g.closeSecurity()
	g.mu.Unlock()
	if g.accessLog != nil {
		g.accessLog.Close()
	}
	g.log.Info("gatehouse stopped")
}

// AdminAddr is the admin listener's bound address, or "" without one.
func (g *Gateway) AdminAddr() string {
	if g.adminLn == nil {
		return ""
	}
	return g.adminLn.Addr().String()
}
