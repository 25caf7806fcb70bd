package controller

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Defaults used when Config leaves a field zero. The debounce values keep
// a burst of events (a kubectl apply of a directory, a rolling update's
// EndpointSlice churn) to one rebuild; the lease values are client-go's
// usual ones (kube-controller-manager uses the same).
const (
	DefaultQuiet         = 100 * time.Millisecond
	DefaultMaxDelay      = time.Second
	DefaultLeaseName     = "gatehouse-controller"
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config is what a Controller watches, how it builds and where it writes.
// Build is required; every other zero value is usable: the default
// controller name, all namespaces, the debounce and lease defaults above,
// leader election with a Lease in namespace "default", no addresses.
type Config struct {
	// Build turns a snapshot of the cluster into served configuration. It
	// is called from one goroutine at a time. An error means nothing was
	// applied: the previous configuration keeps serving and no status is
	// written for this snapshot.
	Build func(objs []kubernetes.Object) (*kubernetes.Result, error)

	// ControllerName is the GatewayClass spec.controllerName served
	// (kubernetes.DefaultControllerName when empty).
	ControllerName string
	// Namespaces restricts the namespaced kinds watched; empty = all.
	// Cluster-scoped kinds (GatewayClass, IngressClass, Namespace) are
	// always watched cluster-wide.
	Namespaces []string

	// Quiet is how long no event must arrive before a rebuild; MaxDelay
	// bounds how long a steady stream of events can postpone it.
	Quiet, MaxDelay time.Duration

	// Addresses are written to Gateway .status.addresses; IngressIPs to
	// Ingress .status.loadBalancer.
	Addresses  []gwv1.GatewayStatusAddress
	IngressIPs []string

	// Leader election: only the holder of the Lease LeaseNamespace/
	// LeaseName writes status. Identity must be unique per replica (the
	// caller uses POD_NAME, else hostname_pid). DisableLeaderElection makes
	// this replica always write (one replica, or tests).
	LeaseNamespace        string
	LeaseName             string
	Identity              string
	LeaseDuration         time.Duration
	RenewDeadline         time.Duration
	RetryPeriod           time.Duration
	DisableLeaderElection bool

	// Dynamic, when set, watches GatehousePolicy objects (gatehouse.dev
	// CRD, no generated client) if the API server serves them.
	Dynamic dynamic.Interface

	// Log receives the controller's messages (slog.Default when nil).
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ControllerName == "" {
		c.ControllerName = kubernetes.DefaultControllerName
	}
	if c.Quiet <= 0 {
		c.Quiet = DefaultQuiet
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultMaxDelay
	}
	if c.LeaseNamespace == "" {
		c.LeaseNamespace = "default"
	}
	if c.LeaseName == "" {
		c.LeaseName = DefaultLeaseName
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline <= 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod <= 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Identity == "" {
		host, _ := os.Hostname()
		c.Identity = fmt.Sprintf("%s_%d", host, os.Getpid())
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}
