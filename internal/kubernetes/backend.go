package kubernetes

import (
	"cmp"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// backendProblem is why a backendRef cannot be used: the ResolvedRefs
// reason (BackendNotFound, RefNotPermitted, InvalidKind) and a message.
type backendProblem struct{ reason, msg string }

// endpoints resolves a Service port to target URLs (scheme://ip:port).
//
// Rule: with EndpointSlices of the Service among the objects, the ready
// endpoints (conditions.ready unset or true) on the slice port of the
// same name as the Service port are the targets; an EndpointSlice set
// without a ready endpoint gives no target. Without any EndpointSlice the
// target is the cluster DNS name NAME.NAMESPACE.svc on the Service port,
// which kube-proxy spreads over the pods.
func (t *translator) endpoints(ns, name string, port int32, portName *string, scheme string) ([]string, *backendProblem) {
	svc, ok := t.ix.services[key(ns, name)]
	if !ok {
		return nil, &backendProblem{"BackendNotFound", fmt.Sprintf("Service %s/%s not found", ns, name)}
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil, &backendProblem{"InvalidKind", fmt.Sprintf("Service %s/%s is of type ExternalName, which is not supported (CVE-2021-25740)", ns, name)}
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if (portName != nil && p.Name == *portName) || (portName == nil && p.Port == port) {
			sp = p
		}
	}
	if sp == nil {
		what := strconv.Itoa(int(port))
		if portName != nil {
			what = *portName
		}
		return nil, &backendProblem{"BackendNotFound", fmt.Sprintf("Service %s/%s has no port %s", ns, name, what)}
	}
	if sp.Port < 1 || sp.Port > 65535 {
		return nil, &backendProblem{"BackendNotFound", fmt.Sprintf("Service %s/%s port %d is out of range", ns, name, sp.Port)}
	}
	sl, ok := t.ix.slices[key(ns, name)]
	if !ok {
		return []string{scheme + "://" + net.JoinHostPort(name+"."+ns+".svc", strconv.Itoa(int(sp.Port)))}, nil
	}
	var out []string
	for _, s := range sl {
		for _, p := range s.Ports {
			if p.Port == nil || *p.Port < 1 || *p.Port > 65535 || (p.Name != nil && *p.Name != sp.Name) || (p.Name == nil && sp.Name != "") {
				continue
			}
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && !*e.Conditions.Ready {
					continue
				}
				for _, a := range e.Addresses {
					if _, err := netip.ParseAddr(a); err != nil {
						continue // FQDN slices are not supported
					}
					u := scheme + "://" + net.JoinHostPort(a, strconv.Itoa(int(*p.Port)))
					if !slices.Contains(out, u) {
						out = append(out, u)
					}
				}
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// weighted is one resolved backendRef: its targets share weight, or it
// names a Gatehouse upstream (see Options.Upstreams).
type weighted struct {
	urls     []string
	weight   int32
	upstream string
	// tls is set when a BackendTLSPolicy made the targets https.
	tls *config.UpstreamTLS
}

// gatehouseUpstream is the name of the Gatehouse upstream standing in for
// Service ns/name, if Options.Upstreams has one: NAME in namespace
// default, NAMESPACE.NAME elsewhere (Service names have no dots, so the
// forms cannot collide).
func (t *translator) gatehouseUpstream(ns, name string) (string, bool) {
	n := ns + "." + name
	if ns == "default" {
		n = name
	}
	return n, t.opts.Upstreams[n]
}

// resolveRef checks a route's backendRef (kind, namespace, grant) and
// resolves it.
func (t *translator) resolveRef(routeKind, routeNS string, ref gwv1.BackendRef, scheme string) (weighted, *backendProblem) {
	w := int32(1)
	if ref.Weight != nil {
		w = *ref.Weight
	}
	if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Service") {
		return weighted{}, &backendProblem{"InvalidKind", fmt.Sprintf("backendRef %s: only core Services are supported", ref.Name)}
	}
	ns := routeNS
	if ref.Namespace != nil {
		ns = string(*ref.Namespace)
	}
	if ns != routeNS && !t.granted(gwv1.GroupName, routeKind, routeNS, "", "Service", ns, string(ref.Name)) {
		return weighted{}, &backendProblem{"RefNotPermitted", fmt.Sprintf("Service %s/%s is not granted to %ss of namespace %s by a ReferenceGrant", ns, ref.Name, routeKind, routeNS)}
	}
	if u, ok := t.gatehouseUpstream(ns, string(ref.Name)); ok {
		return weighted{weight: w, upstream: u}, nil
	}
	if ref.Port == nil {
		return weighted{}, &backendProblem{"BackendNotFound", fmt.Sprintf("backendRef %s has no port", ref.Name)}
	}
	urls, p := t.endpoints(ns, string(ref.Name), *ref.Port, nil, scheme)
	out := weighted{urls: urls, weight: w}
	if p == nil && scheme == "http" {
		t.applyBackendTLS(&out, ns, string(ref.Name), int32(*ref.Port))
	}
	return out, p
}

// upstream builds an upstream from resolved refs. Each ref's weight is
// split evenly over its targets and scaled into Gatehouse's 1..10000
// (so proportions are kept to about 1/10000); refs of weight 0 and refs
// without targets add nothing. nil when no target remains. A ref naming
// a Gatehouse upstream is used as is, and only as its rule's one backend:
// its targets are not known here, so they cannot be weighted against
// others.
func (t *translator) upstream(name string, refs []weighted) *config.Upstream {
	for _, r := range refs {
		if r.upstream != "" {
			if len(refs) > 1 || r.weight <= 0 {
				return nil
			}
			return &config.Upstream{Name: r.upstream}
		}
	}
	shares := map[string]float64{}
	maxShare := 0.0
	var tls *config.UpstreamTLS
	for _, r := range refs {
		if r.weight <= 0 || len(r.urls) == 0 {
			continue
		}
		// One tls block per upstream: the first BackendTLSPolicy met
		// wins, refs needing another one are left out.
		if r.tls != nil && tls != nil && r.tls != tls {
			continue
		}
		if r.tls != nil {
			tls = r.tls
		}
		s := float64(r.weight) / float64(len(r.urls))
		for _, u := range r.urls {
			shares[u] += s
			maxShare = max(maxShare, shares[u])
		}
	}
	if len(shares) == 0 {
		return nil
	}
	u := &config.Upstream{Name: name}
	if tls != nil {
		c := *tls
		u.TLS = &c
	}
	uniform := true
	for url, s := range shares {
		w := int(math.Max(1, math.Round(s*10000/maxShare)))
		u.Targets = append(u.Targets, &config.Target{URL: url, Weight: w})
		uniform = uniform && w == 10000
	}
	slices.SortFunc(u.Targets, func(a, b *config.Target) int { return cmp.Compare(a.URL, b.URL) })
	if !uniform {
		u.Balance = "weighted_round_robin"
	}
	if !t.upstreams[name] {
		t.upstreams[name] = true
		t.cfg.Upstreams = append(t.cfg.Upstreams, u)
	}
	return u
}
