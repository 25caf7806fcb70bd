package gatewayapi

import (
	"sigs.k8s.io/controller-runtime/pkg/client"
	confk8s "sigs.k8s.io/gateway-api/conformance/utils/kubernetes"
)

// expectedFailures are the GATEWAY-HTTP tests Gatehouse does not pass
// yet, each with a one-line cause: a translator gap (internal/kubernetes
// produces no or the wrong configuration or status), a run-time gap (the
// gateway cannot do it) or a harness gap (this package cannot stand in
// for what the test needs). They are skipped with that reason in a
// normal run, so the package stays green in CI and any other failure is
// a regression; GATEHOUSE_CONFORMANCE_ALL=1 runs them as well and
// reports XPASS for those that pass (remove them from this list).
var expectedFailures = map[string]string{
	// Extended (no core test fails).
	"GatewayInfrastructureMetadata":                              "run-time gap: Gatehouse deploys no per-Gateway ServiceAccount, Pods or Services to carry spec.infrastructure labels (the harness clientset serves only pod logs, so it would need them too)",
	"GatewayInvalidParametersRef":                                "translator gap: spec.infrastructure.parametersRef is not checked (Accepted=False InvalidParameters)",
	"GatewayStaticAddresses":                                     "translator gap: Gateway spec.addresses",
	"GatewayFrontendClientCertificateValidationInsecureFallback": "translator or run-time gap: with AllowInsecureFallback the listener does not ask for a client certificate (the test needs it asked for and any or none accepted)",
	"HTTPRouteHTTPSListenerDetectMisdirectedRequests":            "run-time gap: 421 Misdirected Request when the Host does not match the TLS server name's listener",
	"ListenerSetAllowedNamespaceNone":                            "translator gap: ListenerSet",
	"ListenerSetAllowedNamespaceSame":                            "translator gap: ListenerSet",
	"ListenerSetAllowedNamespaceSelector":                        "translator gap: ListenerSet",
	"ListenerSetAllowedRoutesNamespaces":                         "translator gap: ListenerSet",
	"ListenerSetDefaultNotAllowed":                               "translator gap: ListenerSet",
	"ListenerSetDualParentRefIndependence":                       "translator gap: ListenerSet",
	"ListenerSetGatewayParentSectionNameNotFound":                "translator gap: ListenerSet",
	"ListenerSetHostnameConflict":                                "translator gap: ListenerSet",
	"ListenerSetHTTPRouting":                                     "translator gap: ListenerSet",
	"ListenerSetProtocolConflict":                                "translator gap: ListenerSet",
	"ListenerSetReferenceGrant":                                  "translator gap: ListenerSet",
	"ListenerSetRouteStatusScopedToParentRef":                    "translator gap: ListenerSet",
}

// readinessExclusions are base-manifest Gateways the suite's setup does
// not wait for (its own GatewayExcludedFromReadinessChecks annotation,
// added when the manifest is applied), because Gatehouse cannot accept
// them yet; the tests that use them belong in expectedFailures. Empty
// since allowedRoutes Selector support (Gateway backend-namespaces).
var readinessExclusions = map[string]string{}

func excludeFromReadiness(obj client.Object) {
	if obj.GetObjectKind().GroupVersionKind().Kind != "Gateway" {
		return
	}
	if _, ok := readinessExclusions[obj.GetNamespace()+"/"+obj.GetName()]; !ok {
		return
	}
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[confk8s.GatewayExcludedFromReadinessChecks] = "true"
	obj.SetAnnotations(a)
}
