package kubernetes

import (
	"slices"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Backend client certificate (Gateway spec.tls.backend.clientCertificateRef,
// feature GatewayBackendClientCertificate). Mapping:
//
//   - The ref names a kubernetes.io/tls Secret of the Gateway's namespace,
//     or of another one granted by a ReferenceGrant; its pair goes to
//     Result.Files like listener certificates (SecretDir/NS_NAME.crt and
//     .key). The Gateway gets ResolvedRefs True, or False with
//     InvalidClientCertificateRef (absent Secret, other group or kind,
//     not a usable key pair) or RefNotPermitted; it stays Accepted either
//     way, as the API asks, and its upstreams then present no certificate.
//     With a usable certificate, a listener whose references do not
//     resolve makes it False/ListenersNotResolved (the API's summary).
//     Gateways without tls.backend get no Gateway-level ResolvedRefs.
//   - Upstreams of HTTPRoute and GRPCRoute rules attached to the Gateway
//     that use TLS (a BackendTLSPolicy governs their Service) get
//     tls.cert_file and key_file. Plain HTTP upstreams are unchanged.
//   - An upstream is shared by every Gateway a route rule attaches to: if
//     those Gateways name different certificates, the first Gateway in
//     namespace/name order wins and the conflict is reported as an error.
//     Mirror upstreams and Gatehouse upstreams named by a route are left
//     as they are.

// gatewayResolvedRefs is the Gateway's own ResolvedRefs condition, set
// only for a Gateway with tls.backend (other Gateways keep the conditions
// they had before): its clientCertificateRef when that does not resolve,
// else False/ListenersNotResolved when a listener's references do not,
// else True.
func (t *translator) gatewayResolvedRefs(gw item[*gwv1.Gateway]) []Condition {
	c, ok := t.backendClientCert(gw)
	if !ok {
		return nil
	}
	if c.Status == "False" {
		return []Condition{c}
	}
	for _, gl := range t.listeners {
		if gl.gw.obj != gw.obj {
			continue
		}
		for _, lc := range gl.conds {
			if lc.Type == "ResolvedRefs" && lc.Status == "False" {
				return []Condition{cond("ResolvedRefs", false, "ListenersNotResolved", "listener %s: %s", gl.spec.Name, lc.Message)}
			}
		}
	}
	return []Condition{c}
}

// backendClientCert checks a Gateway's clientCertificateRef, records the
// usable pair in t.clientCerts and returns its ResolvedRefs condition
// (false without tls.backend).
func (t *translator) backendClientCert(gw item[*gwv1.Gateway]) (Condition, bool) {
	g := gw.obj
	if g.Spec.TLS == nil || g.Spec.TLS.Backend == nil || g.Spec.TLS.Backend.ClientCertificateRef == nil {
		return Condition{}, false
	}
	ref := g.Spec.TLS.Backend.ClientCertificateRef
	bad := func(reason, format string, args ...any) (Condition, bool) {
		c := cond("ResolvedRefs", false, reason, "tls.backend.clientCertificateRef: "+format, args...)
		t.errorf(gw.src, "Gateway %s/%s: %s", g.Namespace, g.Name, c.Message)
		return c, true
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
		return bad("InvalidClientCertificateRef", "only core Secrets are supported")
	}
	ns := g.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	if ns != g.Namespace && !t.granted(gwv1.GroupName, "Gateway", g.Namespace, "", "Secret", ns, string(ref.Name)) {
		return bad("RefNotPermitted", "Secret %s/%s is not granted to Gateways of namespace %s by a ReferenceGrant", ns, ref.Name, g.Namespace)
	}
	c, err := t.secretPair(ns, string(ref.Name))
	if err != nil {
		return bad("InvalidClientCertificateRef", "%v", err)
	}
	if t.clientCerts == nil {
		t.clientCerts = map[string]config.Certificate{}
	}
	t.clientCerts[key(g.Namespace, g.Name)] = c
	return cond("ResolvedRefs", true, "ResolvedRefs", "client certificate %s/%s resolved", ns, ref.Name), true
}

// upstreamFor records that upstream serves a route attached to gateway
// (NS/NAME), for applyClientCerts.
func (t *translator) upstreamFor(upstream, gateway string) {
	if gateway == "" {
		return
	}
	if t.upstreamGWs == nil {
		t.upstreamGWs = map[string][]string{}
	}
	if !slices.Contains(t.upstreamGWs[upstream], gateway) {
		t.upstreamGWs[upstream] = append(t.upstreamGWs[upstream], gateway)
	}
}

// applyClientCerts gives TLS upstreams the client certificate of the
// Gateways their routes attach to; it runs after every route.
func (t *translator) applyClientCerts() {
	if len(t.clientCerts) == 0 {
		return
	}
	for _, u := range t.cfg.Upstreams {
		if u.TLS == nil {
			continue
		}
		gws := slices.Sorted(slices.Values(t.upstreamGWs[u.Name]))
		var chosen *config.Certificate
		from := ""
		for _, gw := range gws {
			c, ok := t.clientCerts[gw]
			if !ok {
				continue
			}
			if chosen == nil {
				chosen, from = &c, gw
				continue
			}
			if c != *chosen {
				t.errorf(t.gatewaySrc(gw), "upstream %s: Gateways %s and %s name different backend client certificates; %s's is used", u.Name, from, gw, from)
			}
		}
		if chosen != nil {
			u.TLS.CertFile, u.TLS.KeyFile = chosen.CertFile, chosen.KeyFile
		}
	}
}

// gatewaySrc is where Gateway NS/NAME was defined.
func (t *translator) gatewaySrc(k string) Object {
	for _, g := range t.ix.gateways {
		if key(g.obj.Namespace, g.obj.Name) == k {
			return g.src
		}
	}
	return Object{}
}
