package kubernetes

import (
	"fmt"
	"strings"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Backend protocol (GEP-1911): a Service port's appProtocol says what the
// backend speaks; Gatehouse maps it to the upstream's protocol.
//
//	(none), http, kubernetes.io/ws   auto: HTTP/1.1 to http:// targets;
//	                                 WebSocket upgrades are proxied as is
//	https (any case)                 auto; TLS to the targets comes from a
//	                                 BackendTLSPolicy (plain without one)
//	kubernetes.io/wss                the same (WebSocket over TLS needs
//	                                 the target's TLS from BackendTLSPolicy)
//	kubernetes.io/h2c                http2: HTTP/2 with prior knowledge
//	                                 over http:// (proxy.ProtocolHTTP2)
//
// Any other appProtocol makes the backendRef unusable: ResolvedRefs False,
// UnsupportedProtocol, as the API requires. The upstream of a rule has one
// protocol, so backends of one rule must agree (else the rule is dropped).

// upstreamProtocol is the config upstream protocol for appProtocol.
func upstreamProtocol(appProtocol string) (string, bool) {
	switch strings.ToLower(appProtocol) {
	case "", "http", "https", "kubernetes.io/ws", "kubernetes.io/wss":
		return "", true
	case "kubernetes.io/h2c":
		return "http2", true
	}
	return "", false
}

// refProtocol is the upstream protocol of a backendRef that resolved. A
// ref without a Service among the objects (a Gatehouse upstream stands in
// for it) has no appProtocol.
func (t *translator) refProtocol(routeNS string, ref gwv1.BackendObjectReference) (string, *backendProblem) {
	ns := routeNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	svc, ok := t.ix.services[key(ns, string(ref.Name))]
	if !ok || ref.Port == nil {
		return "", nil
	}
	for _, p := range svc.Spec.Ports {
		if p.Port != *ref.Port || p.AppProtocol == nil {
			continue
		}
		proto, ok := upstreamProtocol(*p.AppProtocol)
		if !ok {
			return "", &backendProblem{"UnsupportedProtocol", fmt.Sprintf("Service %s/%s port %d has appProtocol %q, which is not supported", ns, ref.Name, p.Port, *p.AppProtocol)}
		}
		return proto, nil
	}
	return "", nil
}
