// Package kubernetes turns Kubernetes Gateway API and Ingress manifests
// into Gatehouse configuration, offline: it reads YAML files, never a
// cluster (no client-go, no network), and writes nothing itself.
//
// Decode splits a multi-document YAML stream, remembers each document's
// file and first line, and decodes the kinds below strictly (unknown
// fields, wrong types and duplicate keys are errors with file:line) into
// the official Go types: sigs.k8s.io/gateway-api v1.6.3 (GatewayClass,
// Gateway, HTTPRoute, GRPCRoute, ReferenceGrant in v1, the v1beta1 forms
// of the same, TLSRoute, TCPRoute and UDPRoute in v1alpha2 and v1, TLSRoute
// in v1alpha3, BackendTLSPolicy in v1 and v1alpha3) and
// k8s.io/api v0.37.2 (Ingress, IngressClass, Service, Secret,
// EndpointSlice, ConfigMap, Namespace). Other kinds are kept with a nil Obj (Translate reports
// those of the Gateway API and networking.k8s.io groups); a document without
// apiVersion and kind is reported as an *Error with NotManifest set, and
// IsManifest tells a manifest file from Gatehouse's own YAML.
//
// Translate produces listeners, routes, l4_routes and upstreams, the
// conditions a controller would write to status (Result.Statuses), and
// errors for what it could not use (Result.Errors). Result.Config has no
// defaults applied: Encode renders it as YAML for config.Parse, which
// applies defaults and validates. Translate is deterministic (objects are
// processed in kind, namespace, name order) and never produces
// configuration config.Parse refuses: values the API server's schema
// would have rejected, which offline files can contain, drop their rule
// or object with a message instead (see checks.go; FuzzDecode asserts it).
//
// Mapping and its trade-offs:
//
//   - Listeners: one Gatehouse listener per port (http-80, https-443,
//     tcp-5432, udp-53) shared by every Gateway and by Ingresses (HTTP on
//     80, TLS hosts on 443). HTTPS listeners on a port pool their
//     certificates (the handshake picks by SNI). A TLS Passthrough
//     listener shares an HTTPS port through SNI-matched l4_routes on the
//     https listener, or gets a tcp listener of its own. TLS Terminate is
//     a Gatehouse tls listener. Distinctness is decided across all served
//     Gateways, since they share sockets: every listener of a port whose
//     protocols cannot share it is Conflicted/ProtocolConflict, every
//     listener repeating a port, protocol and hostname is
//     Conflicted/HostnameConflict, and none of them is accepted.
//   - Listener isolation (isolation.go): a request is served only by the
//     routes of the most specific listener hostname matching its Host,
//     across all Gateways sharing the port: route hostnames that a more
//     specific listener covers are dropped, and each such listener
//     hostname gets a last route answering 404, so the router never
//     falls through to a less specific listener's routes. Ingress rules
//     are not listeners and are not isolated.
//   - Route attachment: parentRef sectionName and port both select
//     listeners; allowedRoutes.namespaces.from Selector matches the labels
//     of Namespace objects, and a namespace without one has only
//     kubernetes.io/metadata.name (as the API server sets it).
//   - Certificates: Secrets of type kubernetes.io/tls (data or stringData)
//     are checked with tls.X509KeyPair; their PEM goes to Result.Files at
//     Options.SecretDir/NS_NAME.crt and .key, which Result.WriteFiles
//     writes with mode 0600 (config names files, it holds no PEM).
//   - HTTPRoute: one route per rule and per set of listeners sharing the
//     same intersected hostnames; matches (path Exact/PathPrefix/
//     RegularExpression, headers and query Exact/RegularExpression,
//     method), RequestHeaderModifier, ResponseHeaderModifier, URLRewrite
//     and RequestRedirect (ReplaceFullPath and ReplacePrefixMatch, with
//     the filter's port rules), CORS (cors.go), RequestMirror (mirror.go),
//     timeouts and retry (resilience.go), backendRef filters
//     (backendfilters.go), Service appProtocol (backendproto.go);
//     RegularExpression is RE2, as everywhere in Gatehouse. A named rule
//     gives its name to its route (names.go). The
//     rule's backendRefs become one upstream named like the route, each
//     ref's weight split evenly over its endpoints and scaled to 1..10000.
//     A rule with no backendRefs, or whose every backend is invalid or has
//     weight 0, answers 500. Deviation: when only some backends are
//     invalid, their share goes to the valid ones instead of answering 500.
//   - GRPCRoute (grpcroute.go): like HTTPRoute, with method matches as
//     /SERVICE/METHOD paths (Exact both → exact, service only →
//     template /SERVICE/{method}, method only or RegularExpression →
//     regex), so the router's order (exact, template, regex, prefix, then
//     header count) is the spec's precedence for Exact matches; header
//     matches, the two header modifiers and RequestMirror (request_mirror
//     to an upstream NAME_mirror_J); upstreams get protocol http2
//     (h2c to http:// targets) and the http listeners it attaches to
//     serve h2c. A rule without usable backend answers gRPC UNAVAILABLE
//     (trailers-only). A Gatehouse upstream standing in for a Service is
//     used as is (set its protocol: http2).
//   - BackendTLSPolicy (backendtls.go): targeted Service ports get https
//     targets and the upstream tls server_name, ca_file (ConfigMap ca.crt
//     → Options.SecretDir/backendtls_NS_NAME.crt) or system roots, and
//     subject_alt_names; unusable policies fail closed (weight 0);
//     oldest policy wins; Accepted/ResolvedRefs per ancestor Gateway.
//   - Frontend client certificate validation (frontendtls.go): Gateway
//     tls.frontend default/perPort → the https listener's client_auth
//     (require, ca_file SecretDir/frontendca_NS_GW_PORT.crt);
//     AllowInsecureFallback → no client_auth (an invalid certificate must
//     pass) and InsecureFrontendValidationMode on the Gateway. One socket
//     per port: the oldest Gateway decides a port's validation and
//     differing HTTPS listeners of others are Accepted=False/PortUnavailable.
//   - Backend client certificate (backendclientcert.go): Gateway
//     tls.backend.clientCertificateRef → cert_file/key_file of the TLS
//     upstreams (BackendTLSPolicy) of HTTPRoute/GRPCRoute rules attached
//     to it; Gateway ResolvedRefs True or False/InvalidClientCertificateRef
//     or RefNotPermitted.
//   - Services: ready endpoints of EndpointSlices of the Service (port
//     matched by the Service port's name) are the targets; without any
//     EndpointSlice the target is NAME.NAMESPACE.svc on the Service port
//     (cluster DNS, spread by kube-proxy). ExternalName Services are
//     refused (InvalidKind).
//   - Ingress: rules and hosts, paths Exact and Prefix
//     (ImplementationSpecific = Prefix), defaultBackend, tls → 443
//     certificates; upstreams svc_NS_NAME_PORT are shared. Served when
//     its class (spec.ingressClassName or the legacy annotation) is
//     Options.IngressClass or an IngressClass of Options.IngressController;
//     an Ingress without class unless a default IngressClass of another
//     controller is among the objects. A served Ingress gets its load
//     balancer addresses in status (ApplyStatus).
//   - GatewayClass: Gateways of a class with Options.ControllerName, or of
//     a class absent from the objects (file mode has no cluster to ask).
//   - TLSRoute, TCPRoute, UDPRoute: the first rule becomes an l4_route
//     (sni from TLSRoute hostnames); one route without hostnames per
//     listener.
//   - ReferenceGrant gates cross-namespace backendRefs and certificateRefs
//     (RefNotPermitted otherwise).
//
// HTTPRoute deviations, each explained where it is mapped: retries are
// made for idempotent requests only; timeouts.backendRequest bounds each
// try up to the response header (the route timeout bounds the body);
// retry.attempts above 9 is capped at 10 tries; a refused CORS preflight
// is answered 403.
//
// Not supported yet (the rule or object is reported and left out):
// HTTPRoute filter ExternalAuth, and ExtensionRef to anything but a
// GatehousePolicy (policy.go); GRPCRoute filter ExtensionRef; in a
// weighted split, backendRef filters other than RequestHeaderModifier;
// sessionPersistence; appProtocols other than kubernetes.io/h2c, ws, wss
// and http (UnsupportedProtocol); BackendTLSPolicy on Ingress and L4
// backends; ListenerSet, Gateway addresses and infrastructure;
// TLSRoute/TCPRoute/UDPRoute rules after the first; Ingress resource
// backends; EndpointSlices of FQDN addresses.
package kubernetes
