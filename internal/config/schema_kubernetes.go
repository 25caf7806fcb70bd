package config

// Kubernetes holds the options for Gateway API and Ingress manifests
// served in file mode (manifests among the configuration files) or by the
// controller (gatehouse run --kubernetes). The zero value serves the
// default classes (see the kubernetes package) on every interface at the
// manifests' ports.
type Kubernetes struct {
	Pos Pos `yaml:"-"`
	// ControllerName is the GatewayClass spec.controllerName served.
	ControllerName string `yaml:"controller_name"`
	// IngressClass is the IngressClass name served.
	IngressClass string `yaml:"ingress_class"`
	// ListenHost is the host part of every listener made from manifests.
	ListenHost string `yaml:"listen_host"`
	// PortOffset is added to every port bound for manifests (Gateway
	// listener ports, Ingress 80 and 443), so manifests written for
	// privileged ports run unprivileged: with 8000, port 80 binds 8080.
	PortOffset int `yaml:"port_offset"`
}
