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
	// Core.
	"GatewayListenerUnsupportedProtocol": "translator gap: a Gateway with some invalid listeners is Accepted=True with reason Accepted, the spec wants ListenersNotValid",
	"GatewayWithAttachedRoutes":          "translator gap: allowedRoutes.namespaces.from Selector",
	"HTTPRouteCrossNamespace":            "translator gap: allowedRoutes.namespaces.from Selector (Gateway backend-namespaces)",

	// Extended.
	"BackendTLSPolicy":                                           "translator gap: BackendTLSPolicy",
	"BackendTLSPolicyConflictResolution":                         "translator gap: BackendTLSPolicy",
	"BackendTLSPolicyInvalidCACertificateRef":                    "translator gap: BackendTLSPolicy",
	"BackendTLSPolicyInvalidKind":                                "translator gap: BackendTLSPolicy",
	"BackendTLSPolicyObservedGenerationBump":                     "translator gap: BackendTLSPolicy",
	"BackendTLSPolicySANValidation":                              "translator gap: BackendTLSPolicy",
	"GatewayTLSBackendClientCertificate":                         "translator gap: BackendTLSPolicy and Gateway spec.tls.backend client certificate",
	"GatewayInvalidTLSBackendConfiguration":                      "translator gap: Gateway spec.tls.backend clientCertificateRef is not checked (no ResolvedRefs/InvalidClientCertificate)",
	"GatewayHTTPListenerIsolation":                               "translator gap: HTTP listener isolation",
	"GatewayInfrastructureMetadata":                              "run-time gap: Gatehouse deploys no per-Gateway Pods/Services to carry spec.infrastructure labels (and the harness has no clientset for them)",
	"GatewayInvalidParametersRef":                                "translator gap: spec.infrastructure.parametersRef is not checked (Accepted=False InvalidParameters)",
	"GatewayStaticAddresses":                                     "translator gap: Gateway spec.addresses",
	"GatewayFrontendClientCertificateValidation":                 "translator gap: frontend client certificate validation (spec.tls.frontend)",
	"GatewayFrontendClientCertificateValidationInsecureFallback": "translator gap: frontend client certificate validation (spec.tls.frontend)",
	"GatewayFrontendInvalidDefaultClientCertificateValidation":   "translator gap: frontend client certificate validation (spec.tls.frontend)",
	"GatewayInvalidFrontendClientCertificateValidation":          "translator gap: frontend client certificate validation (spec.tls.frontend)",
	"HTTPRoute303Redirect":                                       "translator gap: RequestRedirect statusCode 303",
	"HTTPRoute307Redirect":                                       "translator gap: RequestRedirect statusCode 307",
	"HTTPRoute308Redirect":                                       "translator gap: RequestRedirect statusCode 308",
	"HTTPRouteBackendProtocolH2C":                                "translator gap: Service appProtocol kubernetes.io/h2c",
	"HTTPRouteBackendProtocolWebSocket":                          "translator gap: Service appProtocol kubernetes.io/ws",
	"HTTPRouteCORS":                                              "translator gap: CORS filter",
	"HTTPRouteHTTPSListenerDetectMisdirectedRequests":            "run-time gap: 421 Misdirected Request when the Host does not match the TLS server name's listener",
	"HTTPRouteRedirectPath":                                      "translator gap: RequestRedirect ReplacePrefixMatch",
	"HTTPRouteRequestHeaderModifierBackendWeights":               "translator gap: backendRef-level filters",
	"HTTPRouteBackendRequestHeaderModifier":                      "translator gap: backendRef-level filters",
	"HTTPRouteRequestMirror":                                     "translator and run-time gap: RequestMirror filter",
	"HTTPRouteRequestMultipleMirrors":                            "translator and run-time gap: RequestMirror filter",
	"HTTPRouteRequestPercentageMirror":                           "translator and run-time gap: RequestMirror filter",
	"HTTPRouteRetry":                                             "translator gap: HTTPRoute retry",
	"HTTPRouteTimeoutBackendRequest":                             "translator gap: timeouts.backendRequest",
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
// them yet; the tests that use them are in expectedFailures.
var readinessExclusions = map[string]string{
	"gateway-conformance-infra/backend-namespaces": "translator gap: allowedRoutes.namespaces.from Selector",
}

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
