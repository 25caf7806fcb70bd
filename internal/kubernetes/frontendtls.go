package kubernetes

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Frontend client certificate validation (Gateway spec.tls.frontend,
// GEP-91, features GatewayFrontendClientCertificateValidation and
// ...InsecureFallback). Mapping:
//
//   - The validation of an HTTPS listener is the Gateway's perPort entry
//     for its port, else frontend.default (a perPort entry without
//     validation turns it off for that port). Other protocols ignore it,
//     as the API says ("Listeners handling HTTPS traffic").
//   - caCertificateRefs: core ConfigMaps with a ca.crt key (others:
//     ResolvedRefs False/InvalidCACertificateKind), of the Gateway's
//     namespace or granted by a ReferenceGrant (RefNotPermitted), present
//     and holding PEM certificates (InvalidCACertificateRef). The usable
//     bundles are concatenated into Result.Files at
//     Options.SecretDir/frontendca_NS_GATEWAY_PORT.crt. Some refs bad:
//     ResolvedRefs False, the others are used; all bad: Accepted False
//     NoValidCACertificate and the listener is not served.
//   - mode AllowValidOnly (the default) → listener tls.client_auth
//     {mode: require, ca_file}. AllowInsecureFallback → no client_auth:
//     the API lets a certificate that fails validation through, and
//     Gatehouse's "request" mode would refuse it, so no certificate is
//     asked for at all (the backend authorizes). The Gateway then has
//     InsecureFrontendValidationMode True/ConfigurationChanged.
//   - Gatehouse has one socket per port, shared by every Gateway (and by
//     Ingress TLS on 443), and one client_auth per socket. The oldest
//     Gateway (creationTimestamp, then namespace/name) with an accepted
//     HTTPS listener on a port decides the port's validation; HTTPS
//     listeners of other Gateways asking for a different one (another CA
//     bundle, or validation against none) are Accepted False/
//     PortUnavailable and not served, rather than silently served with
//     the wrong client authentication.

// frontendValidationFor returns the validation a Gateway asks for HTTPS on
// port, or nil.
func frontendValidationFor(gw *gwv1.Gateway, port int32) *gwv1.FrontendTLSValidation {
	if gw.Spec.TLS == nil || gw.Spec.TLS.Frontend == nil {
		return nil
	}
	f := gw.Spec.TLS.Frontend
	for _, pp := range f.PerPort {
		if int32(pp.Port) == port {
			return pp.TLS.Validation
		}
	}
	return f.Default.Validation
}

// frontendValidation resolves an HTTPS listener's client certificate
// validation into gl.clientCA/clientCAFile/insecureFallback. It returns
// false, after recording the listener's conditions, when the listener
// cannot be served; a partly unresolved configuration sets gl.caRefs
// (the ResolvedRefs condition to report instead of True).
func (t *translator) frontendValidation(gl *gwListener) bool {
	gw := gl.gw.obj
	v := frontendValidationFor(gw, gl.spec.Port)
	if v == nil {
		return true
	}
	refuse := func(conds ...Condition) bool {
		gl.conds = append(gl.conds, conds...)
		gl.conds = append(gl.conds, cond("Programmed", false, "Invalid", "not programmed"))
		t.errorf(gl.gw.src, "Gateway %s/%s listener %s: %s", gw.Namespace, gw.Name, gl.spec.Name, conds[0].Message)
		return false
	}
	switch v.Mode {
	case "", gwv1.AllowValidOnly:
	case gwv1.AllowInsecureFallback:
		gl.insecureFallback = true
	default:
		return refuse(cond("Accepted", false, "UnsupportedValue", "tls.frontend validation mode %q is not supported", v.Mode))
	}
	var bundle []byte
	for _, ref := range v.CACertificateRefs {
		data, reason, msg := t.frontendCA(gw, ref)
		if reason != "" {
			c := cond("ResolvedRefs", false, reason, "%s", msg)
			gl.caRefs = &c
			continue
		}
		bundle = append(bundle, data...)
	}
	if len(bundle) == 0 {
		msg := "tls.frontend validation has no caCertificateRefs"
		if gl.caRefs != nil {
			msg = gl.caRefs.Message
		} else {
			c := cond("ResolvedRefs", false, "InvalidCACertificateRef", "%s", msg)
			gl.caRefs = &c
		}
		return refuse(cond("Accepted", false, "NoValidCACertificate", "no caCertificateRef holds a usable CA certificate: %s", msg), *gl.caRefs)
	}
	if gl.caRefs != nil {
		t.errorf(gl.gw.src, "Gateway %s/%s listener %s: %s", gw.Namespace, gw.Name, gl.spec.Name, gl.caRefs.Message)
	}
	if gl.insecureFallback {
		return true
	}
	gl.clientCA = bundle
	gl.clientCAFile = filepath.Join(t.opts.SecretDir, "frontendca_"+gw.Namespace+"_"+gw.Name+"_"+strconv.Itoa(int(gl.spec.Port))+".crt")
	t.res.Files[gl.clientCAFile] = bundle
	return true
}

// frontendCA reads one caCertificateRef of a Gateway: its PEM, or the
// ResolvedRefs reason and message.
func (t *translator) frontendCA(gw *gwv1.Gateway, ref gwv1.ObjectReference) ([]byte, string, string) {
	if ref.Group != "" || ref.Kind != "ConfigMap" {
		return nil, "InvalidCACertificateKind", fmt.Sprintf("caCertificateRef %s/%s %s: only core ConfigMaps are supported", ref.Group, ref.Kind, ref.Name)
	}
	ns := gw.Namespace
	if ref.Namespace != nil && *ref.Namespace != "" {
		ns = string(*ref.Namespace)
	}
	if ns != gw.Namespace && !t.granted(gwv1.GroupName, "Gateway", gw.Namespace, "", "ConfigMap", ns, string(ref.Name)) {
		return nil, "RefNotPermitted", fmt.Sprintf("ConfigMap %s/%s is not granted to Gateways of namespace %s by a ReferenceGrant", ns, ref.Name, gw.Namespace)
	}
	return t.caCertificate(ns, gwv1.LocalObjectReference{Kind: "ConfigMap", Name: ref.Name})
}

// frontendPorts settles each port's client authentication: the oldest
// Gateway with an accepted HTTPS listener there decides, listeners of
// other Gateways asking otherwise are refused (see the mapping above).
func (t *translator) frontendPorts() {
	gls := slices.Clone(t.listeners)
	slices.SortStableFunc(gls, func(a, b *gwListener) int {
		return a.gw.obj.CreationTimestamp.Compare(b.gw.obj.CreationTimestamp.Time)
	})
	first := map[int32]*gwListener{}
	for _, gl := range gls {
		if !gl.ok || gl.family != "https" {
			continue
		}
		f := first[gl.spec.Port]
		if f == nil {
			first[gl.spec.Port] = gl
			continue
		}
		if bytes.Equal(f.clientCA, gl.clientCA) {
			continue
		}
		gl.ok = false
		msg := fmt.Sprintf("port %d is served with the client certificate validation of Gateway %s/%s (Gatehouse shares one socket per port)", gl.spec.Port, f.gw.obj.Namespace, f.gw.obj.Name)
		gl.conds = append(gl.conds, cond("Accepted", false, "PortUnavailable", "%s", msg),
			cond("Programmed", false, "Invalid", "not programmed"))
		t.errorf(gl.gw.src, "Gateway %s/%s listener %s: %s", gl.gw.obj.Namespace, gl.gw.obj.Name, gl.spec.Name, msg)
	}
}

// setClientAuth turns on client certificate validation on the Gatehouse
// listener carrying gl.
func (t *translator) setClientAuth(gl *gwListener) {
	if gl.clientCAFile == "" {
		return
	}
	for _, l := range t.cfg.Listeners {
		if l.Name == gl.glName && l.TLS != nil && l.TLS.ClientAuth == nil {
			l.TLS.ClientAuth = &config.ClientAuth{Mode: "require", CAFile: gl.clientCAFile}
		}
	}
}

// insecureFrontend is the Gateway's InsecureFrontendValidationMode
// condition, when one of its served listeners lets unvalidated clients in.
func (t *translator) insecureFrontend(gw *gwv1.Gateway) []Condition {
	for _, gl := range t.listeners {
		if gl.gw.obj == gw && gl.ok && gl.insecureFallback {
			return []Condition{cond("InsecureFrontendValidationMode", true, "ConfigurationChanged",
				"listener %s accepts clients without a valid certificate (AllowInsecureFallback)", gl.spec.Name)}
		}
	}
	return nil
}
