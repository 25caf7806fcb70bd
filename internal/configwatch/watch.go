// Package configwatch tells the gateway when its configuration files
// changed, so it can reload them. Only YAML files and Kubernetes
// ConfigMap swaps count, and a burst of events (an editor's temp file,
// rename and chmod) becomes one notification after a short quiet time.
package configwatch

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watchDebounce lets an editor finish writing (often several events: a
// temp file, a rename, a chmod) before one reload runs.
const watchDebounce = 300 * time.Millisecond

// Watch reports changes to the configuration at path (a file or a
// directory) and the files it was loaded from, until ctx ends: one value
// per burst of changes. It watches directories, not files, because
// editors and Kubernetes ConfigMaps replace files by rename, which would
// silently end a watch on the file itself.
func Watch(ctx context.Context, path string, files []string, log *slog.Logger) <-chan struct{} {
	out := make(chan struct{}, 1)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		log.Warn("file watch unavailable; reload with SIGHUP", "error", err)
		return out
	}
	dirs := map[string]bool{}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		dirs[path] = true
	} else {
		dirs[filepath.Dir(path)] = true
	}
	for _, f := range files {
		dirs[filepath.Dir(f)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			log.Warn("cannot watch directory", "dir", d, "error", err)
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
				log.Warn("file watch error", "error", err)
			}
		}
	}()
	return out
}
