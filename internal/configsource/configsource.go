// Package configsource assembles the configuration Gatehouse serves from
// its two kinds of source: Gatehouse's own YAML and Kubernetes manifests
// (Gateway API and Ingress). It is the composition of config (a leaf that
// knows only Gatehouse YAML) and kubernetes (a pure translator); neither
// imports the other's loading.
//
// File mode: a configuration directory may mix both kinds of file. A file
// whose first document has apiVersion and kind is a manifest file (all of
// its documents are manifests); any other is Gatehouse YAML. The
// manifests are translated (kubernetes.Translate), the result is encoded
// as one generated YAML text and loaded with the Gatehouse files by
// config.LoadSources, so the merged whole is validated once: a Gateway
// listener on a port that a Gatehouse listener also binds is an error,
// with the Gatehouse file's line.
//
// Services resolve, in this order: to a Gatehouse upstream named like the
// Service (NAME in namespace default, NAMESPACE.NAME elsewhere) defined
// in the Gatehouse YAML; else to the ready endpoints of the Service's
// EndpointSlices among the manifests; else to the cluster DNS name
// NAME.NAMESPACE.svc (kubernetes.Options.Upstreams documents the rest).
//
// Trade-offs: manifests that cannot be used are not fatal, as in a
// cluster a broken object must not stop the others; they are reported in
// Result.Errors (and statuses), which callers log. Certificates from
// Secrets are written as files under Options.SecretDir, because
// Gatehouse's configuration names files and holds no key material.
package configsource

import (
	"cmp"
	"errors"
	"path/filepath"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
	"go.yaml.in/yaml/v3"
)

// Document is one Gatehouse YAML file.
type Document struct {
	Name string
	Data []byte
}

// Load reads path (a file, or a directory of *.yaml / *.yml files mixing
// Gatehouse YAML and manifests) and calls Build. With no manifest among
// the files it is config.Load and the Result is nil.
func Load(path string, opts kubernetes.Options) (*config.Config, *kubernetes.Result, error) {
	docs, objs, decodeErrs, err := Read(path)
	if err != nil {
		return nil, nil, err
	}
	if len(objs) == 0 && len(decodeErrs) == 0 {
		cfg, err := config.LoadSources(toSources(docs))
		return cfg, nil, err
	}
	if len(decodeErrs) > 0 {
		// A manifest that does not decode is a syntax error in a file the
		// user edits: refuse the whole load, like bad Gatehouse YAML.
		return nil, nil, toConfigErrors(decodeErrs)
	}
	return Build(docs, objs, opts)
}

// Read reads path as config.ReadSources does and sorts its files: a file
// whose first document has apiVersion and kind holds manifests, which are
// decoded (objects, and the documents that did not decode); any other is
// a Gatehouse YAML document.
func Read(path string) ([]Document, []kubernetes.Object, kubernetes.Errors, error) {
	srcs, err := config.ReadSources(path)
	if err != nil {
		return nil, nil, nil, err
	}
	var docs []Document
	var objs []kubernetes.Object
	var decodeErrs kubernetes.Errors
	for _, s := range srcs {
		if !kubernetes.IsManifest(s.Data) {
			docs = append(docs, Document{Name: s.Name, Data: s.Data})
			continue
		}
		o, err := kubernetes.Decode(s.Name, s.Data)
		objs = append(objs, o...)
		var es kubernetes.Errors
		if errors.As(err, &es) {
			decodeErrs = append(decodeErrs, es...)
		} else if err != nil {
			return nil, nil, nil, err
		}
	}
	return docs, objs, decodeErrs, nil
}

// Build translates objs, writes the certificate files of their Secrets
// under opts.SecretDir, merges the translation with the Gatehouse YAML
// docs and returns the validated configuration and the translation's
// result (statuses and per-object errors). Gatehouse upstreams defined in
// docs stand in for Services of the same name (see the package doc).
func Build(docs []Document, objs []kubernetes.Object, opts kubernetes.Options) (*config.Config, *kubernetes.Result, error) {
	opts = Options(docs, opts)
	res := kubernetes.Translate(objs, opts)
	if err := res.WriteFiles(); err != nil {
		return nil, res, err
	}
	gen, err := res.Encode()
	if err != nil {
		return nil, res, err
	}
	srcs := append(toSources(docs), config.Source{Name: generatedName(opts), Data: gen, Generated: true})
	cfg, err := config.LoadSources(srcs)
	return cfg, res, err
}

// generatedName names the translated text in messages; it lives beside
// the secrets so relative paths (there are none) would resolve there.
func generatedName(opts kubernetes.Options) string {
	return filepath.Join(opts.SecretDir, "(translated Kubernetes manifests)")
}

func toSources(docs []Document) []config.Source {
	srcs := make([]config.Source, len(docs))
	for i, d := range docs {
		srcs[i] = config.Source{Name: d.Name, Data: d.Data}
	}
	return srcs
}

// Options completes opts from the Gatehouse YAML: the upstream names
// it defines (Options.Upstreams) and its kubernetes section, for the
// fields the caller left unset. It is a lenient first look: errors are
// left for config.LoadSources, which reports them with file:line.
func Options(docs []Document, opts kubernetes.Options) kubernetes.Options {
	names := map[string]bool{}
	for _, d := range docs {
		var v struct {
			Upstreams []struct {
				Name string `yaml:"name"`
			} `yaml:"upstreams"`
			Kubernetes *config.Kubernetes `yaml:"kubernetes"`
		}
		if yaml.Unmarshal(d.Data, &v) != nil {
			continue
		}
		for _, u := range v.Upstreams {
			if u.Name != "" {
				names[u.Name] = true
			}
		}
		if k := v.Kubernetes; k != nil {
			opts.ControllerName = cmp.Or(opts.ControllerName, k.ControllerName)
			opts.IngressClass = cmp.Or(opts.IngressClass, k.IngressClass)
			opts.ListenHost = cmp.Or(opts.ListenHost, k.ListenHost)
			opts.PortOffset = cmp.Or(opts.PortOffset, int32(k.PortOffset))
		}
	}
	if opts.Upstreams == nil {
		opts.Upstreams = names
	}
	return opts
}

// toConfigErrors reports manifest decode errors in config's form, so
// callers print one kind of error list.
func toConfigErrors(es kubernetes.Errors) config.Errors {
	out := make(config.Errors, 0, len(es))
	for _, e := range es {
		out = append(out, &config.Error{Pos: config.Pos{File: e.File, Line: e.Line}, Msg: e.Msg})
	}
	return out
}
