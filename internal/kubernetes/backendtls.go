package kubernetes

import (
	"cmp"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// BackendTLSPolicy (gateway.networking.k8s.io/v1, GEP-1897) makes the
// gateway connect to a Service over TLS. Mapping:
//
//   - targetRefs name core Services (sectionName = a Service port name;
//     without it the whole Service). The targets of a route backendRef to
//     such a Service port become https:// and its upstream gets tls:
//     server_name = validation.hostname (SNI, and the name checked),
//     ca_file = the PEM of the caCertificateRefs (ConfigMaps, key
//     ca.crt, concatenated into Result.Files as
//     SecretDir/backendtls_NS_NAME.crt), or no ca_file for
//     wellKnownCACertificates: System (the system roots), and
//     subject_alt_names = validation.subjectAltNames (then the hostname
//     is only the SNI, as the API asks).
//   - Fail closed: a policy that is invalid or has no usable CA
//     certificate still claims its Service, whose backendRefs then count
//     as weight 0 (a rule left without backend answers 500), never plain
//     HTTP.
//   - Precedence: policies are taken oldest first (creationTimestamp),
//     then by namespace/name; a later policy for the same Service and
//     sectionName is Accepted=False/Conflicted. A policy for a port wins
//     over one for the whole Service.
//   - Status is per ancestor: every served Gateway that is a parent of an
//     HTTPRoute or GRPCRoute with a backendRef to a targeted Service gets
//     Accepted and ResolvedRefs conditions (Section "Gateway NS/NAME").
//   - One upstream has one tls block: if a rule's backendRefs need
//     different policies, the refs of the first one met are used and the
//     others left out. Ingress backends, L4 routes and Services standing
//     for a Gatehouse upstream (Options.Upstreams: its own tls applies)
//     ignore BackendTLSPolicy.

// tlsPolicy is one BackendTLSPolicy and what became of it.
type tlsPolicy struct {
	obj *gwv1.BackendTLSPolicy
	src Object
	// tls is the upstream TLS block; nil when the policy cannot be used
	// (its backends then get no traffic).
	tls                *config.UpstreamTLS
	accepted, resolved Condition
	conflicted         bool
}

// tlsTargetKey names what a policy attaches to: NS/SERVICE/SECTION
// (SECTION empty for the whole Service).
func tlsTargetKey(ns, svc, section string) string { return ns + "/" + svc + "/" + section }

// backendTLSPolicies checks every BackendTLSPolicy and records which one
// governs each Service (port); it runs before routes are translated.
func (t *translator) backendTLSPolicies() {
	t.tlsTargets = map[string]*tlsPolicy{}
	items := slices.Clone(t.ix.backendTLS)
	slices.SortStableFunc(items, func(a, b item[*gwv1.BackendTLSPolicy]) int {
		if c := a.obj.CreationTimestamp.Compare(b.obj.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.obj.Namespace, b.obj.Namespace), cmp.Compare(a.obj.Name, b.obj.Name))
	})
	for _, it := range items {
		p := t.checkTLSPolicy(it)
		t.tlsPolicies = append(t.tlsPolicies, p)
		for _, ref := range it.obj.Spec.TargetRefs {
			if ref.Group != "" || ref.Kind != "Service" {
				t.errorf(it.src, "BackendTLSPolicy %s/%s: targetRef %s/%s %s is not supported (only core Services)", it.obj.Namespace, it.obj.Name, ref.Group, ref.Kind, ref.Name)
				continue
			}
			section := ""
			if ref.SectionName != nil {
				section = string(*ref.SectionName)
			}
			k := tlsTargetKey(it.obj.Namespace, string(ref.Name), section)
			if _, taken := t.tlsTargets[k]; taken {
				p.conflicted = true
				continue
			}
			t.tlsTargets[k] = p
		}
		if p.conflicted {
			p.accepted = cond("Accepted", false, "Conflicted", "an older BackendTLSPolicy already targets the same Service and sectionName")
		}
	}
}

// checkTLSPolicy validates one policy and builds its upstream TLS block.
func (t *translator) checkTLSPolicy(it item[*gwv1.BackendTLSPolicy]) *tlsPolicy {
	pol := it.obj
	v := pol.Spec.Validation
	p := &tlsPolicy{obj: pol, src: it.src,
		accepted: cond("Accepted", true, "Accepted", "accepted"),
		resolved: cond("ResolvedRefs", true, "ResolvedRefs", "all references resolved")}
	invalid := func(format string, args ...any) *tlsPolicy {
		p.accepted = cond("Accepted", false, "Invalid", format, args...)
		t.errorf(it.src, "BackendTLSPolicy %s/%s: %s", pol.Namespace, pol.Name, p.accepted.Message)
		return p
	}
	host := string(v.Hostname)
	if !validHost(host) || strings.HasPrefix(host, "*") {
		return invalid("validation.hostname %q is not a DNS name", host)
	}
	tc := &config.UpstreamTLS{ServerName: host}
	for _, san := range v.SubjectAltNames {
		switch san.Type {
		case gwv1.HostnameSubjectAltNameType:
			if !validHost(string(san.Hostname)) {
				return invalid("subjectAltNames hostname %q is not a DNS name", san.Hostname)
			}
			tc.SubjectAltNames = append(tc.SubjectAltNames, string(san.Hostname))
		case gwv1.URISubjectAltNameType:
			if u, err := url.Parse(string(san.URI)); err != nil || u.Scheme == "" || !strings.Contains(string(san.URI), ":") {
				return invalid("subjectAltNames uri %q is not an absolute URI", san.URI)
			}
			tc.SubjectAltNames = append(tc.SubjectAltNames, string(san.URI))
		default:
			return invalid("subjectAltNames type %q is not supported", san.Type)
		}
	}
	wellKnown := v.WellKnownCACertificates != nil && *v.WellKnownCACertificates != ""
	switch {
	case wellKnown && len(v.CACertificateRefs) > 0:
		return invalid("caCertificateRefs and wellKnownCACertificates are exclusive")
	case wellKnown && *v.WellKnownCACertificates != gwv1.WellKnownCACertificatesSystem:
		return invalid("wellKnownCACertificates %q is not supported (only System)", *v.WellKnownCACertificates)
	case wellKnown:
		p.tls = tc // no ca_file: the system roots
		return p
	case len(v.CACertificateRefs) == 0:
		return invalid("validation needs caCertificateRefs or wellKnownCACertificates")
	}
	var bundle []byte
	for _, ref := range v.CACertificateRefs {
		data, reason, msg := t.caCertificate(pol.Namespace, ref)
		if reason != "" {
			p.resolved = cond("ResolvedRefs", false, reason, "%s", msg)
			t.errorf(it.src, "BackendTLSPolicy %s/%s: %s", pol.Namespace, pol.Name, msg)
			continue
		}
		bundle = append(bundle, data...)
	}
	if len(bundle) == 0 {
		p.accepted = cond("Accepted", false, "NoValidCACertificate", "no caCertificateRef holds a usable CA certificate")
		return p
	}
	tc.CAFile = filepath.Join(t.opts.SecretDir, "backendtls_"+pol.Namespace+"_"+pol.Name+".crt")
	t.res.Files[tc.CAFile] = bundle
	p.tls = tc
	return p
}

// caCertificate reads one caCertificateRef: a ConfigMap of the policy's
// namespace whose ca.crt holds PEM certificates. It returns the PEM, or
// the ResolvedRefs reason and message.
func (t *translator) caCertificate(ns string, ref gwv1.LocalObjectReference) ([]byte, string, string) {
	if ref.Group != "" || ref.Kind != "ConfigMap" {
		return nil, "InvalidKind", fmt.Sprintf("caCertificateRef %s/%s %s: only core ConfigMaps are supported", ref.Group, ref.Kind, ref.Name)
	}
	cm, ok := t.ix.configMaps[key(ns, string(ref.Name))]
	if !ok {
		return nil, "InvalidCACertificateRef", fmt.Sprintf("ConfigMap %s/%s not found", ns, ref.Name)
	}
	data, ok := cm.Data["ca.crt"]
	if !ok {
		return nil, "InvalidCACertificateRef", fmt.Sprintf("ConfigMap %s/%s has no key ca.crt", ns, ref.Name)
	}
	if n := pemCertificates([]byte(data)); n == 0 {
		return nil, "InvalidCACertificateRef", fmt.Sprintf("ConfigMap %s/%s ca.crt holds no PEM certificate", ns, ref.Name)
	}
	out := []byte(data)
	if !strings.HasSuffix(data, "\n") {
		out = append(out, '\n')
	}
	return out, "", ""
}

// pemCertificates counts the certificates of a PEM bundle that parse.
func pemCertificates(data []byte) int {
	n := 0
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return n
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err == nil {
			n++
		}
	}
}

// backendTLS returns the policy governing Service ns/svc on port (a port
// policy before a whole-Service one), or nil.
func (t *translator) backendTLS(ns, svc string, port int32) *tlsPolicy {
	if len(t.tlsTargets) == 0 {
		return nil
	}
	if s, ok := t.ix.services[key(ns, svc)]; ok {
		for _, sp := range s.Spec.Ports {
			if sp.Port == port && sp.Name != "" {
				if p := t.tlsTargets[tlsTargetKey(ns, svc, sp.Name)]; p != nil {
					return p
				}
			}
		}
	}
	return t.tlsTargets[tlsTargetKey(ns, svc, "")]
}

// applyBackendTLS switches a resolved backendRef to https when a policy
// governs its Service port; an unusable policy leaves it weight 0.
func (t *translator) applyBackendTLS(w *weighted, ns, svc string, port int32) {
	p := t.backendTLS(ns, svc, port)
	if p == nil {
		return
	}
	for i, u := range w.urls {
		w.urls[i] = "https" + strings.TrimPrefix(u, "http")
	}
	w.tls = p.tls
	if p.tls == nil {
		w.weight = 0
	}
}

// backendTLSStatuses reports each policy's conditions once per ancestor
// Gateway (see the mapping above).
func (t *translator) backendTLSStatuses() {
	for _, p := range t.tlsPolicies {
		for _, gw := range t.tlsAncestors(p) {
			t.status("BackendTLSPolicy", p.obj.Namespace, p.obj.Name, "Gateway "+gw, p.accepted, p.resolved)
		}
	}
}

// tlsAncestors lists (sorted) the served Gateways that are parents of a
// route with a backendRef to a Service port the policy targets.
func (t *translator) tlsAncestors(p *tlsPolicy) []string {
	targets := func(ns, svc string, port *gwv1.PortNumber) bool {
		if ns != p.obj.Namespace {
			return false
		}
		for _, ref := range p.obj.Spec.TargetRefs {
			if ref.Group != "" || ref.Kind != "Service" || string(ref.Name) != svc {
				continue
			}
			if ref.SectionName == nil {
				return true
			}
			if s, ok := t.ix.services[key(ns, svc)]; ok && port != nil {
				for _, sp := range s.Spec.Ports {
					if sp.Port == *port && sp.Name == string(*ref.SectionName) {
						return true
					}
				}
			}
		}
		return false
	}
	served := map[string]bool{}
	for _, g := range t.ix.gateways {
		if t.gatewayServed(g.obj) {
			served[key(g.obj.Namespace, g.obj.Name)] = true
		}
	}
	var out []string
	add := func(routeNS string, parents []gwv1.ParentReference, refs []gwv1.BackendRef) {
		hit := false
		for _, r := range refs {
			ns := routeNS
			if r.Namespace != nil {
				ns = string(*r.Namespace)
			}
			hit = hit || ((r.Group == nil || *r.Group == "") && (r.Kind == nil || *r.Kind == "Service") && targets(ns, string(r.Name), r.Port))
		}
		if !hit {
			return
		}
		for _, pr := range parents {
			ns := routeNS
			if pr.Namespace != nil {
				ns = string(*pr.Namespace)
			}
			if k := key(ns, string(pr.Name)); served[k] && !slices.Contains(out, k) && (pr.Kind == nil || *pr.Kind == "Gateway") {
				out = append(out, k)
			}
		}
	}
	for _, r := range t.ix.httpRoutes {
		var refs []gwv1.BackendRef
		for _, rule := range r.obj.Spec.Rules {
			for _, br := range rule.BackendRefs {
				refs = append(refs, br.BackendRef)
			}
		}
		add(r.obj.Namespace, r.obj.Spec.ParentRefs, refs)
	}
	for _, r := range t.ix.grpcRoutes {
		var refs []gwv1.BackendRef
		for _, rule := range r.obj.Spec.Rules {
			for _, br := range rule.BackendRefs {
				refs = append(refs, br.BackendRef)
			}
		}
		add(r.obj.Namespace, r.obj.Spec.ParentRefs, refs)
	}
	slices.Sort(out)
	return out
}
