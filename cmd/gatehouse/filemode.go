package main

import (
	"log/slog"
	"os"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/configsource"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// fileMode loads path, which may mix Gatehouse YAML and Kubernetes
// manifests (see configsource), writing Secrets' certificates into a
// private directory that lives as long as the process. cleanup removes it.
type fileMode struct {
	path      string
	secretDir string
	log       *slog.Logger
}

func newFileMode(path string, log *slog.Logger) (*fileMode, error) {
	dir, err := os.MkdirTemp("", "gatehouse-secrets-")
	if err != nil {
		return nil, err
	}
	return &fileMode{path: path, secretDir: dir, log: log}, nil
}

// load is the gateway's Loader: manifests that cannot be used are logged
// (they degrade only their own routes, as in a cluster), everything else
// is an error that keeps the running configuration.
func (f *fileMode) load() (*config.Config, error) {
	cfg, res, err := configsource.Load(f.path, kubernetes.Options{SecretDir: f.secretDir})
	if res != nil && f.log != nil {
		for _, e := range res.Errors {
			f.log.Warn("manifest not fully used", "error", e.Error())
		}
	}
	return cfg, err
}

func (f *fileMode) gateway() *gateway.Gateway {
	return gateway.NewWithLoader(f.path, f.load, f.log)
}

func (f *fileMode) cleanup() { os.RemoveAll(f.secretDir) }
