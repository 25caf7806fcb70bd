package kubernetes

import (
	"fmt"
	"net"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// gwListener is one Gateway listener and what became of it.
type gwListener struct {
	gw      item[*gwv1.Gateway]
	spec    gwv1.Listener
	family  string // http, https, tls-passthrough, tls, tcp, udp
	kinds   []string
	ok      bool   // accepted and programmed
	glName  string // the Gatehouse listener carrying it
	conds   []Condition
	invalid bool
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

// compatible reports whether a listener of family f may join a port whose
// Gatehouse listener speaks proto.
func compatible(proto, f string) bool {
	switch proto {
	case "https":
		return f == "https" || f == "tls-passthrough"
	case "tcp":
		return f == "tls-passthrough"
	}
	return proto == f
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
	"http": {"HTTPRoute"}, "https": {"HTTPRoute"},
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
	for name, c := range t.ix.classes {
		if string(c.Spec.ControllerName) == t.opts.ControllerName {
			t.status("GatewayClass", "", name, "", cond("Accepted", true, "Accepted", "served by %s", t.opts.ControllerName))
		}
	}
	ports := map[int32]string{} // port → Gatehouse protocol
	hosts := map[string]bool{}  // port/family/hostname seen
	for _, gw := range t.ix.gateways {
		if !t.gatewayServed(gw.obj) {
			continue
		}
		for _, l := range gw.obj.Spec.Listeners {
			gl := &gwListener{gw: gw, spec: l, family: family(l)}
			t.listeners = append(t.listeners, gl)
			t.gatewayListener(gl, ports, hosts)
		}
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
		ok := n > 0
		reason := "Accepted"
		if !ok {
			reason = "ListenersNotValid"
		}
		t.status("Gateway", gw.obj.Namespace, gw.obj.Name, "",
			cond("Accepted", ok, reason, "%d of %d listeners accepted", n, len(gw.obj.Spec.Listeners)),
			cond("Programmed", ok, map[bool]string{true: "Programmed", false: "Invalid"}[ok], "%d listeners programmed", n))
	}
}

func (t *translator) gatewayListener(gl *gwListener, ports map[int32]string, hosts map[string]bool) {
	l := gl.spec
	fail := func(typ, reason, format string, args ...any) {
		gl.conds = append(gl.conds, cond(typ, false, reason, format, args...))
		if typ != "Accepted" {
			gl.conds = append(gl.conds, cond("Accepted", false, reason, format, args...))
		}
		gl.conds = append(gl.conds, cond("Programmed", false, "Invalid", "not programmed"))
	}
	defer func() {
		t.status("Gateway", gl.gw.obj.Namespace, gl.gw.obj.Name, string(l.Name), gl.conds...)
	}()
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
	if l.AllowedRoutes != nil && l.AllowedRoutes.Namespaces != nil && l.AllowedRoutes.Namespaces.From != nil &&
		*l.AllowedRoutes.Namespaces.From == gwv1.NamespacesFromSelector {
		fail("Accepted", "UnsupportedValue", "allowedRoutes.namespaces.from: Selector is not supported offline (no Namespace labels); use Same or All")
		return
	}
	proto, used := ports[l.Port]
	if used && !compatible(proto, gl.family) {
		gl.conds = append(gl.conds, cond("Conflicted", true, "ProtocolConflict", "port %d is already used by a %s listener", l.Port, proto))
		fail("Accepted", "ProtocolConflict", "port %d is already used by a %s listener", l.Port, proto)
		return
	}
	hk := fmt.Sprintf("%d/%s/%s", l.Port, gl.family, hostnameOf(l.Hostname))
	if hosts[hk] {
		gl.conds = append(gl.conds, cond("Conflicted", true, "HostnameConflict", "another listener uses port %d and hostname %q", l.Port, hostnameOf(l.Hostname)))
		fail("Accepted", "HostnameConflict", "another listener uses port %d and hostname %q", l.Port, hostnameOf(l.Hostname))
		return
	}
	var certs []config.Certificate
	if gl.family == "https" || gl.family == "tls" {
		var reason, msg string
		certs, reason, msg = t.certificates(gl)
		if len(certs) == 0 {
			fail("ResolvedRefs", reason, "%s", msg)
			return
		}
	}
	if !used {
		proto = protoFor(gl.family)
		ports[l.Port] = proto
	}
	hosts[hk] = true
	gl.glName = t.listener(proto, l.Port, certs)
	gl.ok = true
	gl.conds = append(gl.conds,
		cond("Accepted", true, "Accepted", "listener %s", gl.glName),
		cond("Conflicted", false, "NoConflicts", "no conflicts"),
		cond("Programmed", true, "Programmed", "programmed as Gatehouse listener %s", gl.glName))
	if bad != "" {
		gl.conds = append(gl.conds, cond("ResolvedRefs", false, "InvalidRouteKinds", "unsupported route kinds: %s", bad))
	} else {
		gl.conds = append(gl.conds, cond("ResolvedRefs", true, "ResolvedRefs", "references resolved"))
	}
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
		Address: net.JoinHostPort(t.opts.ListenHost, strconv.Itoa(int(port)))}
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
