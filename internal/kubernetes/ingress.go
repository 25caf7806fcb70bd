package kubernetes

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	networkingv1 "k8s.io/api/networking/v1"
)

// Ingress ports: Ingress has no listener concept; HTTP is served on 80 and
// TLS hosts on 443, sharing the Gatehouse listeners Gateways created there.
const (
	ingressHTTPPort  = 80
	ingressHTTPSPort = 443
)

// ingressServed applies IngressClass selection: spec.ingressClassName (or
// the legacy kubernetes.io/ingress.class annotation) must be
// Options.IngressClass or an IngressClass whose controller is
// Options.IngressController. An Ingress without class is served unless
// the objects hold default IngressClasses and none of them is ours.
func (t *translator) ingressServed(in *networkingv1.Ingress) bool {
	class := in.Annotations["kubernetes.io/ingress.class"]
	if in.Spec.IngressClassName != nil {
		class = *in.Spec.IngressClassName
	}
	if class == "" {
		defaults, ours := 0, false
		for _, c := range t.ix.ingressClasses {
			if c.Annotations[networkingv1.AnnotationIsDefaultIngressClass] == "true" {
				defaults++
				ours = ours || c.Spec.Controller == t.opts.IngressController
			}
		}
		return defaults == 0 || ours
	}
	if class == t.opts.IngressClass {
		return true
	}
	c, ok := t.ix.ingressClasses[class]
	return ok && c.Spec.Controller == t.opts.IngressController
}

func (t *translator) ingresses() {
	for _, it := range t.ix.ingresses {
		in := it.obj
		if !t.ingressServed(in) {
			continue
		}
		listeners := []string{t.ingressListener(it, "http", ingressHTTPPort, nil)}
		var certs []config.Certificate
		for _, tl := range in.Spec.TLS {
			if tl.SecretName == "" {
				continue
			}
			c, err := t.secretPair(in.Namespace, tl.SecretName)
			if err != nil {
				t.errorf(it.src, "Ingress %s/%s: tls: %v", in.Namespace, in.Name, err)
				continue
			}
			certs = append(certs, c)
		}
		if len(certs) > 0 {
			if l := t.ingressListener(it, "https", ingressHTTPSPort, certs); l != "" {
				listeners = append(listeners, l)
			}
		}
		if listeners[0] == "" {
			continue
		}
		// Ingress has no conditions: this entry only marks it served, so
		// ApplyStatus writes its load balancer addresses.
		t.status("Ingress", in.Namespace, in.Name, "", cond("Accepted", true, "Accepted", "served"))
		for i, rule := range in.Spec.Rules {
			var hosts []string
			if rule.Host != "" {
				if !validHost(rule.Host) {
					t.errorf(it.src, "Ingress %s/%s: invalid host %q", in.Namespace, in.Name, rule.Host)
					continue
				}
				hosts = []string{rule.Host}
			}
			if rule.HTTP == nil {
				continue
			}
			for j, p := range rule.HTTP.Paths {
				if p.Path != "" && !strings.HasPrefix(p.Path, "/") {
					t.errorf(it.src, "Ingress %s/%s: path %q must start with /", in.Namespace, in.Name, p.Path)
					continue
				}
				m := &config.Match{Hosts: hosts, Path: ingressPath(p)}
				t.ingressRoute(it, joinName("ingress", in.Namespace, in.Name, i, j), listeners, m, p.Backend)
			}
		}
		if b := in.Spec.DefaultBackend; b != nil {
			t.ingressRoute(it, joinName("ingress", in.Namespace, in.Name, "default"), listeners,
				&config.Match{Path: &config.PathMatch{Prefix: "/"}}, *b)
		}
	}
}

// ingressListener finds or creates the Gatehouse listener for an Ingress
// port; "" (and an error) when a Gateway took the port for another
// protocol.
func (t *translator) ingressListener(it item[*networkingv1.Ingress], proto string, port int32, certs []config.Certificate) string {
	name := listenerName(proto, port)
	for _, l := range t.cfg.Listeners {
		if l.Address == t.bindAddress(port) && l.Name != name {
			t.errorf(it.src, "Ingress %s/%s: port %d is used by listener %s", it.obj.Namespace, it.obj.Name, port, l.Name)
			return ""
		}
	}
	return t.listener(proto, port, certs)
}

// ingressPath maps pathType; ImplementationSpecific is treated as Prefix.
func ingressPath(p networkingv1.HTTPIngressPath) *config.PathMatch {
	v := p.Path
	if v == "" {
		v = "/"
	}
	if p.PathType != nil && *p.PathType == networkingv1.PathTypeExact {
		return &config.PathMatch{Exact: v}
	}
	return &config.PathMatch{Prefix: v}
}

func (t *translator) ingressRoute(it item[*networkingv1.Ingress], name string, listeners []string, m *config.Match, b networkingv1.IngressBackend) {
	in := it.obj
	rt := &config.Route{Name: name, Listeners: listeners, Match: m}
	t.cfg.Routes = append(t.cfg.Routes, rt)
	if b.Service == nil {
		t.errorf(it.src, "Ingress %s/%s: resource backends are not supported", in.Namespace, in.Name)
		rt.Respond = &config.Respond{Status: 500}
		return
	}
	var portName *string
	port := b.Service.Port.Number
	upName := joinName("svc", in.Namespace, b.Service.Name, port)
	if b.Service.Port.Name != "" {
		portName = &b.Service.Port.Name
		upName = joinName("svc", in.Namespace, b.Service.Name, b.Service.Port.Name)
	}
	if u, ok := t.gatehouseUpstream(in.Namespace, b.Service.Name); ok {
		rt.Backend = &config.Backend{Upstream: u}
		return
	}
	urls, p := t.endpoints(in.Namespace, b.Service.Name, port, portName, "http")
	if p != nil {
		t.errorf(it.src, "Ingress %s/%s: %s", in.Namespace, in.Name, p.msg)
	}
	if u := t.upstream(upName, []weighted{{urls: urls, weight: 1}}); u != nil {
		rt.Backend = &config.Backend{Upstream: u.Name}
		return
	}
	rt.Respond = &config.Respond{Status: 503}
}
