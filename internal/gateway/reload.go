package gateway

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
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
		changes = g.watch(ctx)
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

// watchDebounce lets an editor finish writing (often several events: a
// temp file, a rename, a chmod) before one reload runs.
const watchDebounce = 300 * time.Millisecond

// watch reports changes to the configuration. It watches directories, not
// files, because editors and Kubernetes ConfigMaps replace files by rename,
// which would silently end a watch on the file itself.
func (g *Gateway) watch(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		g.log.Warn("file watch unavailable; reload with SIGHUP", "error", err)
		return out
	}
	dirs := map[string]bool{}
	if fi, err := os.Stat(g.path); err == nil && fi.IsDir() {
		dirs[g.path] = true
	} else {
		dirs[filepath.Dir(g.path)] = true
	}
	for _, f := range g.cfg.Files {
		dirs[filepath.Dir(f)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			g.log.Warn("cannot watch directory", "dir", d, "error", err)
		}
	}
	relevant := func(name string) bool {
		ext := filepath.Ext(name)
		if ext == ".yaml" || ext == ".yml" {
			return true
		}
		// Kubernetes ConfigMap volumes swap a "..data" symlink.
		return filepath.Base(name) == "..data"
	}
	go func() {
		defer w.Close()
		var timer *time.Timer
		var fire <-chan time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if !relevant(ev.Name) || ev.Op == fsnotify.Chmod {
					continue
				}
				if timer == nil {
					timer = time.NewTimer(watchDebounce)
				} else {
					timer.Reset(watchDebounce)
				}
				fire = timer.C
			case <-fire:
				fire = nil
				select {
				case out <- struct{}{}:
				default:
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				g.log.Warn("file watch error", "error", err)
			}
		}
	}()
	return out
}
