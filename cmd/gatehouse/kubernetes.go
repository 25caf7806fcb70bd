package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"go.yaml.in/yaml/v3"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/configsource"
	"github.com/gatehouse/gatehouse/internal/gateway"
	k8s "github.com/gatehouse/gatehouse/internal/kubernetes"
	"github.com/gatehouse/gatehouse/internal/kubernetes/controller"
)

const kubernetesHelp = `Serves what a Kubernetes cluster's Gateway API and Ingress objects say:
watches them (in-cluster credentials, or --kubeconfig / $KUBECONFIG), rebuilds
on every change, and writes their status (only the leader of the replicas
does). -c adds Gatehouse YAML (admin, log, policies, ...) to the translated
configuration; SIGHUP re-reads it. Serving starts once the first build has
something to serve (a Gateway listener or an Ingress).`

// kubernetesMode reports whether run's arguments ask for the controller.
func kubernetesMode(args []string) bool {
	for _, a := range args {
		switch a {
		case "--kubernetes", "-kubernetes", "--kubernetes=true", "-kubernetes=true":
			return true
		}
	}
	return false
}

// kubeFlags are run --kubernetes's flags.
type kubeFlags struct {
	path, level, kubeconfig string
	controllerName          string
	leaseNamespace          string
	addresses, namespaces   string
}

func parseKubeFlags(args []string, stderr io.Writer) (kubeFlags, int, bool) {
	var f kubeFlags
	fs := flag.NewFlagSet("run --kubernetes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("kubernetes", true, "serve the cluster's Gateway API and Ingress objects")
	fs.StringVar(&f.path, "c", "", "optional Gatehouse configuration `FILE or DIR` merged with the translation")
	fs.StringVar(&f.level, "log-level", "", "override log.level: debug, info, warn or error")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `PATH` (default $KUBECONFIG, else in-cluster credentials)")
	fs.StringVar(&f.controllerName, "controller-name", "", "GatewayClass controllerName served (default "+k8s.DefaultControllerName+")")
	fs.StringVar(&f.leaseNamespace, "lease-namespace", "", "namespace of the leader-election Lease (default $POD_NAMESPACE, else default)")
	fs.StringVar(&f.addresses, "gateway-address", "", "comma-separated IPs or hostnames written to Gateway and Ingress status (default $POD_IP)")
	fs.StringVar(&f.namespaces, "watch-namespaces", "", "comma-separated namespaces to watch (default all)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse run --kubernetes [--kubeconfig PATH] [-c FILE|DIR]\n\n%s\n\nFlags:\n", kubernetesHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, 0, false
		}
		return f, 2, false
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return f, 2, false
	}
	return f, 0, true
}

// cmdRunKubernetes is "gatehouse run --kubernetes".
func cmdRunKubernetes(args []string, stderr io.Writer) int {
	f, code, ok := parseKubeFlags(args, stderr)
	if !ok {
		return code
	}
	km, err := newKubeMode(f)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	defer km.cleanup()
	kube, gw, dyn, err := kubeClients(f.kubeconfig)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse: kubernetes:", err)
		return 1
	}
	cfg := km.controllerConfig(f)
	cfg.Dynamic = dyn // GatehousePolicy objects
	ctl, err := controller.New(kube, gw, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return km.serve(ctl)
}

// kubeClients connects with the kubeconfig at path, else $KUBECONFIG,
// else the pod's service account (rest.InClusterConfig).
func kubeClients(path string) (kubernetes.Interface, gwclient.Interface, dynamic.Interface, error) {
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	var rc *rest.Config
	var err error
	if path != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", path)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, nil, nil, err
	}
	rc.UserAgent = "gatehouse/" + buildVersion()
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, nil, err
	}
	gw, err := gwclient.NewForConfig(rc)
	if err != nil {
		return nil, nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	return kube, gw, dyn, err
}

// kubeMode is the process side of the controller: it owns the Gatehouse
// YAML documents of -c, the directory certificates are written to and the
// gateway, which starts at the first build that has something to serve.
type kubeMode struct {
	path      string
	secretDir string
	ctlName   string // GatewayClass controllerName served
	log       *slog.Logger

	mu   sync.Mutex // guards docs (SIGHUP replaces them)
	docs []configsource.Document

	next    atomic.Pointer[config.Config] // what the gateway's Loader returns
	gw      *gateway.Gateway
	started bool // Build goroutine only
}

func newKubeMode(f kubeFlags) (*kubeMode, error) {
	docs, err := readDocs(f.path)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gatehouse-secrets-")
	if err != nil {
		return nil, err
	}
	km := &kubeMode{path: f.path, secretDir: dir, docs: docs}
	km.log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(f.level, docs)}))
	klog.SetSlogLogger(km.log) // client-go's own messages (leader election) in the same format
	name := f.path
	if name == "" {
		name = "kubernetes"
	}
	km.gw = gateway.NewWithLoader(name, km.load, km.log)
	return km, nil
}

// readDocs reads -c's Gatehouse YAML; manifests belong in the cluster.
func readDocs(path string) ([]configsource.Document, error) {
	if path == "" {
		return nil, nil
	}
	srcs, err := config.ReadSources(path)
	if err != nil {
		return nil, err
	}
	docs := make([]configsource.Document, 0, len(srcs))
	for _, s := range srcs {
		if k8s.IsManifest(s.Data) {
			return nil, fmt.Errorf("%s: Kubernetes manifests are read from the cluster in --kubernetes mode; apply them with kubectl", s.Name)
		}
		docs = append(docs, configsource.Document{Name: s.Name, Data: s.Data})
	}
	return docs, nil
}

// logLevel is the flag's level, else the documents' log.level, else info.
func logLevel(flagLevel string, docs []configsource.Document) slog.Level {
	level := flagLevel
	for _, d := range docs {
		var v struct {
			Log struct {
				Level string `yaml:"level"`
			} `yaml:"log"`
		}
		if level == "" && yaml.Unmarshal(d.Data, &v) == nil {
			level = v.Log.Level
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lv = slog.LevelInfo
	}
	return lv
}

func (km *kubeMode) controllerConfig(f kubeFlags) controller.Config {
	addrs := f.addresses
	if addrs == "" {
		addrs = os.Getenv("POD_IP")
	}
	// The flag wins over -c's kubernetes.controller_name, as for the
	// translation (configsource.Options), so both agree on the class.
	km.mu.Lock()
	km.ctlName = configsource.Options(km.docs, k8s.Options{ControllerName: f.controllerName}).ControllerName
	km.mu.Unlock()
	cfg := controller.Config{
		Build:          km.build,
		ControllerName: km.ctlName,
		LeaseNamespace: f.leaseNamespace,
		Identity:       os.Getenv("POD_NAME"),
		Log:            km.log,
	}
	if cfg.LeaseNamespace == "" {
		cfg.LeaseNamespace = os.Getenv("POD_NAMESPACE")
	}
	cfg.Addresses, cfg.IngressIPs = statusAddresses(addrs)
	for _, ns := range strings.Split(f.namespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			cfg.Namespaces = append(cfg.Namespaces, ns)
		}
	}
	return cfg
}

// statusAddresses turns "10.0.0.5,gw.example.com" into Gateway status
// addresses (IPAddress or Hostname) and the Ingress IPs among them.
func statusAddresses(list string) ([]gwv1.GatewayStatusAddress, []string) {
	var addrs []gwv1.GatewayStatusAddress
	var ips []string
	for _, a := range strings.Split(list, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		t := gwv1.HostnameAddressType
		if _, err := netip.ParseAddr(a); err == nil {
			t = gwv1.IPAddressType
			ips = append(ips, a)
		}
		addrs = append(addrs, gwv1.GatewayStatusAddress{Type: &t, Value: a})
	}
	return addrs, ips
}

// build is the controller's Build: translate and merge with -c's YAML
// (configsource.Build, which also writes the certificates), then start or
// reload the gateway. A snapshot with nothing to serve (no Gateway
// listener or Ingress, and no listener in -c) is not an error: its
// statuses are still written, and a running gateway keeps its last
// configuration, since a configuration without listeners cannot be served.
func (km *kubeMode) build(objs []k8s.Object) (*k8s.Result, error) {
	km.mu.Lock()
	docs := km.docs
	km.mu.Unlock()
	cfg, res, err := configsource.Build(docs, objs, k8s.Options{ControllerName: km.ctlName, SecretDir: km.secretDir})
	if err != nil {
		if res != nil && len(res.Config.Listeners) == 0 && !hasListeners(docs) {
			km.log.Info("kubernetes: nothing to serve yet (no Gateway listener or Ingress)")
			return res, nil
		}
		return nil, err
	}
	km.next.Store(cfg)
	if !km.started {
		if err := km.gw.Start(); err != nil {
			return nil, err
		}
		km.started = true
	} else if err := km.gw.Reload(); err != nil {
		return nil, err
	}
	return res, nil
}

// load is the gateway's Loader: the configuration build produced last.
func (km *kubeMode) load() (*config.Config, error) {
	cfg := km.next.Load()
	if cfg == nil {
		return nil, errors.New("no configuration built yet")
	}
	return cfg, nil
}

// hasListeners reports whether the Gatehouse YAML defines a listener.
func hasListeners(docs []configsource.Document) bool {
	for _, d := range docs {
		var v struct {
			Listeners []any `yaml:"listeners"`
		}
		if yaml.Unmarshal(d.Data, &v) == nil && len(v.Listeners) > 0 {
			return true
		}
	}
	return false
}

// serve runs the controller until SIGTERM or SIGINT; SIGHUP re-reads -c
// and rebuilds. On exit the controller stops first (releasing the Lease),
// then the gateway drains.
func (km *kubeMode) serve(ctl *controller.Controller) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	km.log.Info("kubernetes controller started", "config", km.path)
	for {
		select {
		case <-hup:
			docs, err := readDocs(km.path)
			if err != nil {
				km.log.Error("SIGHUP: keeping the previous Gatehouse YAML", "error", err.Error())
				continue
			}
			km.mu.Lock()
			km.docs = docs
			km.mu.Unlock()
			ctl.Resync()
		case err := <-done:
			if km.started {
				km.gw.Shutdown()
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				km.log.Error("kubernetes controller failed", "error", err.Error())
				return 1
			}
			return 0
		}
	}
}

func (km *kubeMode) cleanup() { os.RemoveAll(km.secretDir) }
