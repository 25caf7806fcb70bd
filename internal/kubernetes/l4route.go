package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
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

func tlsSource(r *gwv1a2.TLSRoute, o Object) l4Source {
	s := l4Source{kind: "TLSRoute", ns: r.Namespace, name: r.Name, src: o, parents: r.Spec.ParentRefs, hostnames: r.Spec.Hostnames}
	for _, rule := range r.Spec.Rules {
		s.rules = append(s.rules, rule.BackendRefs)
	}
	return s
}

func tcpSource(r *gwv1a2.TCPRoute, o Object) l4Source {
	s := l4Source{kind: "TCPRoute", ns: r.Namespace, name: r.Name, src: o, parents: r.Spec.ParentRefs}
	for _, rule := range r.Spec.Rules {
		s.rules = append(s.rules, rule.BackendRefs)
	}
	return s
}

func udpSource(r *gwv1a2.UDPRoute, o Object) l4Source {
	s := l4Source{kind: "UDPRoute", ns: r.Namespace, name: r.Name, src: o, parents: r.Spec.ParentRefs}
	for _, rule := range r.Spec.Rules {
		s.rules = append(s.rules, rule.BackendRefs)
	}
	return s
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
