package kubernetes

// Default class names served when Options leaves them empty.
const (
	DefaultControllerName    = "gatehouse.dev/gateway-controller"
	DefaultIngressClass      = "gatehouse"
	DefaultIngressController = "gatehouse.dev/ingress-controller"
)

// Options choose which objects are served and where listeners bind.
// The zero value serves the default classes on all interfaces.
type Options struct {
	// ControllerName is the GatewayClass spec.controllerName served.
	ControllerName string
	// IngressClass is the IngressClass name served; IngressController the
	// IngressClass spec.controller served.
	IngressClass      string
	IngressController string
	// ListenHost is the host part of every listener address ("" = all
	// interfaces).
	ListenHost string
	// SecretDir is where the PEM files of TLS Secrets are to be written
	// (see Result.Files); relative paths stay relative.
	SecretDir string
	// PortOffset is added to every port Gatehouse binds for Gateway
	// listeners and Ingress (80, 443), so manifests written for ports
	// below 1024 run unprivileged, as in tests; 0 binds them as written.
	// Statuses and route matching keep the ports of the manifests.
	PortOffset int32
	// Upstreams are the names of upstreams defined in Gatehouse's own
	// configuration. A backendRef to Service NAME in namespace default,
	// or NAMESPACE.NAME elsewhere, whose name is here forwards to that
	// upstream (port ignored, no Service object needed) instead of
	// resolving the Service; it must be its rule's only backendRef.
	Upstreams map[string]bool
}

func (o Options) withDefaults() Options {
	if o.ControllerName == "" {
		o.ControllerName = DefaultControllerName
	}
	if o.IngressClass == "" {
		o.IngressClass = DefaultIngressClass
	}
	if o.IngressController == "" {
		o.IngressController = DefaultIngressController
	}
	if o.SecretDir == "" {
		o.SecretDir = "secrets"
	}
	return o
}
