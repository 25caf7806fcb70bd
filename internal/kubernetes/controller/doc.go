// Package controller is Gatehouse's live Kubernetes controller: it
// watches a cluster with client-go informers, feeds every change through
// the same translator as file mode (package kubernetes) and writes the
// resulting conditions back to the objects' status.
//
// Watched: Services, EndpointSlices, Secrets of type kubernetes.io/tls,
// ConfigMaps, Ingresses (in all namespaces or Config.Namespaces),
// Namespaces and IngressClasses (cluster-wide), and the Gateway API kinds
// GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant, TLSRoute,
// TCPRoute, UDPRoute and BackendTLSPolicy in gateway.networking.k8s.io/v1
// (sigs.k8s.io/gateway-api v1.6.3), those the API server serves: discovery
// is asked once at start, because an informer for a CRD that is not
// installed never syncs. A CRD installed later needs a restart.
// GatehousePolicy objects (gatehouse.dev/v1alpha1, policy attachment by
// ExtensionRef) have no generated client: with Config.Dynamic they are
// watched through the dynamic client and decoded by kubernetes.Decode, as
// in file mode; one whose spec does not decode is left out and logged, so
// the rules naming it answer 500.
//
// Flow: any add, delete or content change (status-only updates, such as
// our own writes, are ignored) sets a flag; after the first event the
// controller waits until Config.Quiet passes without one, or at most
// Config.MaxDelay (Kubernetes controllers' usual rate limiting, simplified:
// one snapshot, not a work queue per object, since the translator needs
// the whole graph anyway). It then deep-copies every cached object into
// []kubernetes.Object (File "Kind ns/name", Line 0) and calls Config.Build.
// A broken object only degrades its own routes: the translator reports it
// in Result.Errors and Statuses. If Build fails as a whole, nothing
// changes: the previous configuration keeps serving, no status is written,
// and the error is logged.
//
// Status: Result.ApplyStatus sets the conditions; the status subresource
// is updated only for objects it changed, and a conflict re-reads the
// object and applies again (retry.RetryOnConflict). Written: GatewayClasses
// of Config.ControllerName and their Gateways, every route and
// BackendTLSPolicy (ApplyStatus keeps other controllers' parent entries),
// and the Ingresses the translator reported on. Gateways whose
// GatewayClass does not exist are not translated (in file mode they are).
//
// Replicas: every replica builds and serves; only the holder of a
// coordination.k8s.io Lease (client-go leader election) writes status, and
// a new leader writes every status once. Trade-off: lease-based election
// allows a short overlap when a leader stalls past its lease; the writes
// are idempotent (same conditions, conflict-checked), so the overlap costs
// at most a redundant update.
//
// Certificates: TLS Secrets are cached and a change to one rebuilds like
// any other object; the caller's Build writes the new PEM files and the
// gateway's reload loads them, without restart.
//
// Cost: every rebuild deep-copies and translates the whole snapshot,
// which is linear in the watched objects; a cluster with tens of
// thousands of Services or ConfigMaps should restrict Config.Namespaces.
package controller
