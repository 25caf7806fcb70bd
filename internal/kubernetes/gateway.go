package kubernetes

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gwListener is one Gateway listener and what became of it.
type gwListener struct {
	gw       item[*gwv1.Gateway]
	spec     gwv1.Listener
	family   string // http, https, tls-passthrough, tls, tcp, udp
	kinds    []string
	ok       bool // accepted and programmed
	certs    []config.Certificate
	badKinds string // allowedRoutes kinds it cannot carry
	glName   string // the Gatehouse listener carrying it
	conds    []Condition
	routes   map[string]bool // kind/ns/name of the routes accepted here
	// attachable: accepted but not programmed (its certificates do not
	// resolve); routes still attach and count, nothing is served.
	attachable bool
	// Frontend client certificate validation (frontendtls.go): the CA
	// bundle and its file (empty: none asked), AllowInsecureFallback, and
	// the ResolvedRefs condition when some caCertificateRefs are unusable.
	clientCA         []byte
	clientCAFile     string
	insecureFallback bool
	caRefs           *Condition
}

// family names what a Gateway listener needs from the socket. HTTPS and
// TLS passthrough can share a port: Gatehouse's https listeners pass
// matching SNI through to l4_routes and terminate the rest.
func family(l gwv1.Listener) string {
	mode := gwv1.TLSModeTerminate
	if l.TLS != nil && l.TLS.Mode != nil {
		mode = *l.TLS.Mode
	}
	switch l.Protocol {
	case gwv1.HTTPProtocolType:
		return "http"
	case gwv1.HTTPSProtocolType:
		if mode == gwv1.TLSModePassthrough {
			return ""
		}
		return "https"
	case gwv1.TLSProtocolType:
		if mode == gwv1.TLSModePassthrough {
			return "tls-passthrough"
		}
		return "tls"
	case gwv1.TCPProtocolType:
		return "tcp"
	case gwv1.UDPProtocolType:
		return "udp"
	}
	return ""
}

// portProto is the Gatehouse listener protocol serving a set of
// families on one port, or "" when they cannot share it. HTTPS and TLS
// passthrough share an https listener (SNI-matched l4_routes pass
// through, the rest is terminated); passthrough alone is a tcp listener.
func portProto(fams map[string]bool) string {
	switch {
	case len(fams) == 1:
		for f := range fams {
			return protoFor(f)
		}
	case len(fams) == 2 && fams["https"] && fams["tls-passthrough"]:
		return "https"
	}
	return ""
}

// protoFor is the Gatehouse listener protocol for a family.
func protoFor(f string) string {
	if f == "tls-passthrough" {
		return "tcp"
	}
	return f
}

// routeKinds lists the route kinds a family accepts by default.
var routeKinds = map[string][]string{
	"http": {"HTTPRoute", "GRPCRoute"}, "https": {"HTTPRoute", "GRPCRoute"},
	"tls-passthrough": {"TLSRoute"}, "tls": {"TLSRoute"},
	"tcp": {"TCPRoute"}, "udp": {"UDPRoute"},
}

// gatewayServed reports whether the Gateway's class is ours. File mode has
// no cluster: a class that is not among the objects is assumed ours.
func (t *translator) gatewayServed(gw *gwv1.Gateway) bool {
	c, ok := t.ix.classes[string(gw.Spec.GatewayClassName)]
	return !ok || string(c.Spec.ControllerName) == t.opts.ControllerName
}

func (t *translator) gateways() {
	for _, name := range slices.Sorted(maps.Keys(t.ix.classes)) {
		if string(t.ix.classes[name].Spec.ControllerName) == t.opts.ControllerName {
			t.status("GatewayClass", "", name, "", cond("Accepted", true, "Accepted", "served by %s", t.opts.ControllerName))
		}
	}
	for _, gw := range t.ix.gateways {
		if !t.gatewayServed(gw.obj) {
			continue
		}
		for _, l := range gw.obj.Spec.Listeners {
			t.listeners = append(t.listeners, &gwListener{gw: gw, spec: l, family: family(l)})
		}
	}
	// Distinctness is decided over every listener of every served Gateway
	// (they share Gatehouse's sockets): all listeners of a port whose
	// protocols cannot share it, and all listeners repeating a port,
	// protocol and hostname, are Conflicted and none of them is accepted.
	fams := map[int32]map[string]bool{}
	hosts := map[string]int{}
	for _, gl := range t.listeners {
		if gl.family == "" {
			continue
		}
		if fams[gl.spec.Port] == nil {
			fams[gl.spec.Port] = map[string]bool{}
		}
		fams[gl.spec.Port][gl.family] = true
		hosts[hostKey(gl)]++
	}
	for _, gl := range t.listeners {
		t.gatewayListener(gl, portProto(fams[gl.spec.Port]), hosts[hostKey(gl)] > 1)
	}
	t.frontendPorts()
	// Sockets are made once every listener is decided: a port meant for
	// HTTPS and TLS passthrough whose HTTPS listeners all failed carries
	// the passthrough alone, on a tcp listener (https needs a certificate).
	https := map[int32]bool{}
	for _, gl := range t.listeners {
		https[gl.spec.Port] = https[gl.spec.Port] || (gl.ok && gl.family == "https")
	}
	for _, gl := range t.listeners {
		if gl.ok {
			proto := portProto(fams[gl.spec.Port])
			if proto == "https" && !https[gl.spec.Port] {
				proto = "tcp"
			}
			gl.glName = t.listener(proto, gl.spec.Port, gl.certs)
			t.setClientAuth(gl)
			gl.conds = append(gl.conds,
				cond("Accepted", true, "Accepted", "listener %s", gl.glName),
				cond("Conflicted", false, "NoConflicts", "no conflicts"),
				cond("Programmed", true, "Programmed", "programmed as Gatehouse listener %s", gl.glName))
			if gl.badKinds != "" {
				gl.conds = append(gl.conds, cond("ResolvedRefs", false, "InvalidRouteKinds", "unsupported route kinds:%s", gl.badKinds))
			} else if gl.caRefs != nil {
				gl.conds = append(gl.conds, *gl.caRefs)
			} else {
				gl.conds = append(gl.conds, cond("ResolvedRefs", true, "ResolvedRefs", "references resolved"))
			}
		}
		t.status("Gateway", gl.gw.obj.Namespace, gl.gw.obj.Name, string(gl.spec.Name), gl.conds...)
	}
	for _, gw := range t.ix.gateways {
		if !t.gatewayServed(gw.obj) {
			continue
		}
		n := 0
		for _, gl := range t.listeners {
			if gl.gw.obj == gw.obj && gl.ok {
				n++
			}
		}
		// Some listeners invalid: Accepted with reason ListenersNotValid
		// (the valid ones serve); none valid: not accepted.
		ok := n > 0
		reason := "Accepted"
		if n < len(gw.obj.Spec.Listeners) {
			reason = "ListenersNotValid"
		}
		conds := []Condition{cond("Accepted", ok, reason, "%d of %d listeners accepted", n, len(gw.obj.Spec.Listeners)),
			cond("Programmed", ok, map[bool]string{true: "Programmed", false: "Invalid"}[ok], "%d listeners programmed", n)}
		conds = append(conds, t.gatewayResolvedRefs(gw)...)
		conds = append(conds, t.insecureFrontend(gw.obj)...)
		t.status("Gateway", gw.obj.Namespace, gw.obj.Name, "", conds...)
	}
}

func hostKey(gl *gwListener) string {
	return fmt.Sprintf("%d/%s/%s", gl.spec.Port, gl.family, hostnameOf(gl.spec.Hostname))
}

// gatewayListener decides whether one listener is accepted (gl.ok) or
// records why not in gl.conds; proto is the Gatehouse protocol
// of its port ("" when the port's protocols conflict) and dupHost says
// another listener has the same port, protocol and hostname.
func (t *translator) gatewayListener(gl *gwListener, proto string, dupHost bool) {
	l := gl.spec
	// A listener that is well formed but whose references do not resolve
	// stays Accepted with ResolvedRefs and Programmed false, as the
	// ListenerConditionResolvedRefs documentation describes.
	fail := func(typ, reason, format string, args ...any) {
		if typ != "Accepted" {
			gl.conds = append(gl.conds, cond("Accepted", true, "Accepted", "accepted"))
		}
		gl.conds = append(gl.conds, cond(typ, false, reason, format, args...),
			cond("Programmed", false, "Invalid", "not programmed"))
	}
	if gl.family == "" {
		fail("Accepted", "UnsupportedProtocol", "protocol %s (tls mode) is not supported", l.Protocol)
		return
	}
	if h := hostnameOf(l.Hostname); h != "" && !validHost(h) {
		fail("Accepted", "UnsupportedValue", "invalid hostname %q", h)
		return
	}
	if l.Port < 1 || l.Port > 65535 {
		fail("Accepted", "UnsupportedValue", "port %d is out of range", l.Port)
		return
	}
	// allowedRoutes: kinds.
	kinds, bad := allowedKinds(gl.family, l.AllowedRoutes)
	gl.kinds = kinds
	if _, err := routeSelector(l.AllowedRoutes); err != nil {
		fail("Accepted", "UnsupportedValue", "%v", err)
		return
	}
	if proto == "" {
		gl.conds = append(gl.conds, cond("Conflicted", true, "ProtocolConflict", "port %d is shared by listeners of protocols that cannot share it", l.Port))
		fail("Accepted", "ProtocolConflict", "port %d is shared by listeners of protocols that cannot share it", l.Port)
		return
	}
	if dupHost {
		gl.conds = append(gl.conds, cond("Conflicted", true, "HostnameConflict", "another listener uses port %d, protocol %s and hostname %q", l.Port, l.Protocol, hostnameOf(l.Hostname)))
		fail("Accepted", "HostnameConflict", "another listener uses port %d, protocol %s and hostname %q", l.Port, l.Protocol, hostnameOf(l.Hostname))
		return
	}
	var certs []config.Certificate
	if gl.family == "https" || gl.family == "tls" {
		var reason, msg string
		certs, reason, msg = t.certificates(gl)
		if len(certs) == 0 {
			gl.attachable = true
			fail("ResolvedRefs", reason, "%s", msg)
			return
		}
	}
	if gl.family == "https" && !t.frontendValidation(gl) {
		return
	}
	gl.certs, gl.badKinds, gl.ok = certs, bad, true
}

// allowedKinds returns the route kinds a listener accepts, and the ones it
// names that this family cannot carry.
func allowedKinds(f string, ar *gwv1.AllowedRoutes) ([]string, string) {
	if ar == nil || len(ar.Kinds) == 0 {
		return routeKinds[f], ""
	}
	var ok []string
	bad := ""
	for _, k := range ar.Kinds {
		g := gwv1.GroupName
		if k.Group != nil {
			g = string(*k.Group)
		}
		valid := g == gwv1.GroupName
		if valid {
			valid = false
			for _, d := range routeKinds[f] {
				valid = valid || d == string(k.Kind)
			}
		}
		if valid {
			ok = append(ok, string(k.Kind))
		} else {
			bad += " " + g + "/" + string(k.Kind)
		}
	}
	return ok, bad
}

func hostnameOf(h *gwv1.Hostname) string {
	if h == nil {
		return ""
	}
	return string(*h)
}

// listener returns the Gatehouse listener for proto on port, creating it;
// certificates are added to it (several Gateway listeners can share one
// https socket, the handshake picks the certificate by SNI).
func (t *translator) listener(proto string, port int32, certs []config.Certificate) string {
	name := listenerName(proto, port)
	for _, l := range t.cfg.Listeners {
		if l.Name == name {
			if len(certs) > 0 {
				l.TLS.Certificates = appendCerts(l.TLS.Certificates, certs)
			}
			return name
		}
	}
	l := &config.Listener{Name: name, Protocol: proto,
		Address: t.bindAddress(port)}
	if proto == "https" || proto == "tls" {
		l.TLS = &config.ListenerTLS{Certificates: appendCerts(nil, certs)}
	}
	t.cfg.Listeners = append(t.cfg.Listeners, l)
	return name
}

func appendCerts(have, add []config.Certificate) []config.Certificate {
	for _, c := range add {
		dup := false
		for _, h := range have {
			dup = dup || h.CertFile == c.CertFile
		}
		if !dup {
			have = append(have, c)
		}
	}
	return have
}

// bindAddress is where the Gatehouse listener for a manifest port binds:
// Options.ListenHost and the port moved by Options.PortOffset.
func (t *translator) bindAddress(port int32) string {
	return net.JoinHostPort(t.opts.ListenHost, strconv.Itoa(int(port+t.opts.PortOffset)))
}
