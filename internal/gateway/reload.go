package gateway

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/configwatch"
)

// Run starts the gateway and serves until SIGTERM or SIGINT (or ctx ends),
// reloading on SIGHUP and, when configured, on changes to its files.
func (g *Gateway) Run(ctx context.Context) error {
	if err := g.Start(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var changes <-chan struct{}
	if g.cfg.Reload.Watch {
		changes = configwatch.Watch(ctx, g.path, g.cfg.Files, g.log)
	}
	for {
		select {
		case <-ctx.Done():
			g.log.Info("shutting down", "grace_period", g.cfg.Shutdown.GracePeriod.String())
			g.Shutdown()
			return nil
		case <-hup:
			g.log.Info("SIGHUP: reloading")
			g.Reload()
		case <-changes:
			g.log.Info("configuration changed on disk: reloading")
			g.Reload()
		}
	}
}
