package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1a2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
)

// l4Source is a TLSRoute, TCPRoute or UDPRoute reduced to what Gatehouse
// l4_routes can express: parents, SNI hostnames and one rule's backends.
type l4Source struct {
	kind, ns, name string
	src            Object
	parents        []gwv1.ParentReference
	hostnames      []gwv1.Hostname
	rules          [][]gwv1.BackendRef
}

func l4From(kind string, m metav1.ObjectMeta, o Object, parents []gwv1.ParentReference, hostnames []gwv1.Hostname, rules [][]gwv1.BackendRef) l4Source {
	return l4Source{kind: kind, ns: m.Namespace, name: m.Name, src: o, parents: parents, hostnames: hostnames, rules: rules}
}

// tlsSource reads a v1alpha2 TLSRoute (a) or a v1 one (v1).
func tlsSource(a *gwv1a2.TLSRoute, o Object, v1 *gwv1.TLSRoute) l4Source {
	var rules [][]gwv1.BackendRef
	if a != nil {
		for _, r := range a.Spec.Rules {
			rules = append(rules, r.BackendRefs)
		}
		return l4From("TLSRoute", a.ObjectMeta, o, a.Spec.ParentRefs, a.Spec.Hostnames, rules)
	}
	for _, r := range v1.Spec.Rules {
		rules = append(rules, r.BackendRefs)
	}
	return l4From("TLSRoute", v1.ObjectMeta, o, v1.Spec.ParentRefs, v1.Spec.Hostnames, rules)
}

// tcpRules and udpRules keep each rule's backendRefs; the v1alpha2 rule
// types are type definitions of the v1 ones.
func tcpRules(rs []gwv1.TCPRouteRule) [][]gwv1.BackendRef {
	var out [][]gwv1.BackendRef
	for _, r := range rs {
		out = append(out, r.BackendRefs)
	}
	return out
}

func udpRules(rs []gwv1.UDPRouteRule) [][]gwv1.BackendRef {
	var out [][]gwv1.BackendRef
	for _, r := range rs {
		out = append(out, r.BackendRefs)
	}
	return out
}

func tcpSource(r *gwv1a2.TCPRoute, o Object) l4Source {
	rules := make([]gwv1.TCPRouteRule, len(r.Spec.Rules))
	for i, x := range r.Spec.Rules {
		rules[i] = gwv1.TCPRouteRule(x)
	}
	return l4From("TCPRoute", r.ObjectMeta, o, r.Spec.ParentRefs, nil, tcpRules(rules))
}

func udpSource(r *gwv1a2.UDPRoute, o Object) l4Source {
	rules := make([]gwv1.UDPRouteRule, len(r.Spec.Rules))
	for i, x := range r.Spec.Rules {
		rules[i] = gwv1.UDPRouteRule(x)
	}
	return l4From("UDPRoute", r.ObjectMeta, o, r.Spec.ParentRefs, nil, udpRules(rules))
}

// l4Route translates one L4 route into one l4_route per attachment;
// TLSRoute hostnames become sni matches. Only the first rule is used:
// TCP and UDP rules have no match of their own, so further rules could
// never be chosen.
func (t *translator) l4Route(r l4Source) {
	if err := validHosts(r.hostnames); err != nil {
		t.errorf(r.src, "%s %s/%s: %v", r.kind, r.ns, r.name, err)
		t.status(r.kind, r.ns, r.name, "", cond("Accepted", false, "UnsupportedValue", "%v", err))
		return
	}
	if len(r.rules) == 0 {
		t.errorf(r.src, "%s %s/%s has no rules", r.kind, r.ns, r.name)
		return
	}
	if len(r.rules) > 1 {
		t.errorf(r.src, "%s %s/%s: only the first rule is used", r.kind, r.ns, r.name)
	}
	scheme := "tcp"
	if r.kind == "UDPRoute" {
		scheme = "udp"
	}
	var refs []weighted
	resolved := Condition{Type: "ResolvedRefs", Status: "True", Reason: "ResolvedRefs", Message: "all references resolved"}
	for _, br := range r.rules[0] {
		w, p := t.resolveRef(r.kind, r.ns, br, scheme)
		if p != nil {
			resolved = cond("ResolvedRefs", false, p.reason, "%s", p.msg)
			continue
		}
		refs = append(refs, w)
	}
	base := joinName(strings.ToLower(r.kind), r.ns, r.name)
	n := 0
	for _, p := range r.parents {
		atts, reason, msg := t.attach(r.kind, r.ns, p, r.hostnames)
		sec := parentSection(r.ns, p)
		for _, a := range atts {
			switch {
			case reason != "" || len(a.hosts) > 0:
			case t.onHTTPS(a.listeners):
				reason, msg = "UnsupportedValue", "a TLSRoute sharing a port with HTTPS listeners needs hostnames"
			case slices.ContainsFunc(a.listeners, func(l string) bool { return t.l4Defaults[l] }):
				// Gatehouse takes one route without match per listener;
				// routes are visited in namespace/name order, so the
				// first one keeps it.
				reason, msg = "UnsupportedValue", "another route already takes every connection of this listener"
			}
		}
		if reason != "" {
			t.status(r.kind, r.ns, r.name, sec, cond("Accepted", false, reason, "%s", msg))
			continue
		}
		u := t.upstream(base, refs)
		if u == nil {
			t.status(r.kind, r.ns, r.name, sec, cond("Accepted", false, "UnsupportedValue", "no usable backend"))
			continue
		}
		t.status(r.kind, r.ns, r.name, sec, cond("Accepted", true, "Accepted", "attached"))
		for _, a := range atts {
			lr := &config.L4Route{Name: base, Listeners: a.listeners, Upstream: u.Name}
			if n > 0 {
				lr.Name = joinName(base, fmt.Sprintf("g%d", n))
			}
			n++
			if len(a.hosts) > 0 {
				lr.Match = &config.L4Match{SNI: a.hosts}
			} else {
				for _, l := range a.listeners {
					t.l4Defaults[l] = true
				}
			}
			t.cfg.L4Routes = append(t.cfg.L4Routes, lr)
		}
	}
	t.status(r.kind, r.ns, r.name, "", resolved)
}

func (t *translator) onHTTPS(names []string) bool {
	for _, l := range t.cfg.Listeners {
		for _, n := range names {
			if l.Name == n && l.Protocol == "https" {
				return true
			}
		}
	}
	return false
}
