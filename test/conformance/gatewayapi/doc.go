// Package gatewayapi runs the Kubernetes Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance v1.6.3, profiles GATEWAY-HTTP and
// GATEWAY-GRPC) against Gatehouse without a cluster. The suite's own
// code applies the manifests and checks statuses and traffic; the test
// stands in for everything else a cluster provides:
//
//   - the API server: controller-runtime's fake client, with status
//     subresources, metadata.generation bumped on spec changes, the CRD
//     schema defaults of the Gateway API CRDs (which are installed, with
//     their bundle annotations), the kubernetes.io/metadata.name label on
//     Namespaces, and a pod-log endpoint for the clientset (mirroring
//     tests read the mirror backend's log);
//   - kubelet and EndpointSlice controller: every Deployment gets Ready
//     Pods that are in-process echo-basic servers (HTTP, h2c, HTTPS,
//     gRPC) on their own loopback addresses, every Service with a
//     selector an EndpointSlice of them;
//   - the controller: on each change, one configsource.Build per Gateway
//     (file mode's path), an in-process gateway per Gateway listening on
//     its own 127.0.100.N with ports moved by 10000, then statuses via
//     kubernetes.Result.ApplyStatus.
//
// Tests Gatehouse does not pass yet are skipped with their cause
// (expected_test.go); GATEHOUSE_CONFORMANCE_ALL=1 runs them too.
//
// Trade-offs: the fake client does no validation or admission (manifests
// are applied as written, after defaulting); each Gateway has its own
// address, as in a cluster, so conflicts between Gateways sharing one
// Gatehouse socket are not exercised; TCP and UDP echo servers are not
// stood in for, so the TLS, TCP and UDP profiles are not run. Everything
// is bound to loopback; the suite's dialers refuse any other address.
package gatewayapi
