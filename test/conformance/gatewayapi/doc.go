// Package gatewayapi runs the Kubernetes Gateway API conformance suite
// (sigs.k8s.io/gateway-api/conformance v1.6.3, profile GATEWAY-HTTP)
// against Gatehouse without a cluster. The suite's own code applies the
// manifests and checks statuses and traffic; the test stands in for
// everything else a cluster provides:
//
//   - the API server: controller-runtime's fake client, with status
//     subresources, metadata.generation bumped on spec changes and the
//     Gateway API CRDs present as annotated objects;
//   - kubelet and EndpointSlice controller: every Deployment gets Ready
//     Pods that are in-process echo-basic servers (HTTP, h2c, HTTPS,
//     gRPC) on their own loopback addresses, every Service with a
//     selector an EndpointSlice of them;
//   - the controller: on each change, translate (internal/kubernetes),
//     apply to an in-process gateway (internal/gateway) listening on
//     127.0.100.1 with ports moved by 10000, then write statuses.
//
// Trade-offs: the fake client does no validation, defaulting or
// admission (manifests are applied as written), and tests that read pod
// logs or need a real network (multiple addresses per Gateway, UDP DNS)
// are harness gaps listed in expected_test.go. Everything is bound to
// loopback; the dialer refuses any other address.
package gatewayapi
