package config

import (
	"net/url"
	"strings"
)

// maxSubjectAltNames bounds upstream tls.subject_alt_names (the Gateway
// API allows 5 per BackendTLSPolicy; every entry is tried per handshake).
const maxSubjectAltNames = 16

// subjectAltNames checks an upstream's tls.subject_alt_names: DNS names
// (a leading "*." allowed, compared with the certificate's own wildcard)
// or absolute URIs; a name holding ":" is read as a URI, since DNS names
// cannot contain one.
func (v *validator) subjectAltNames(t *UpstreamTLS, tlsPos Pos, owner string) {
	if len(t.SubjectAltNames) == 0 {
		return
	}
	pos := v.at(&t.SubjectAltNames, tlsPos)
	if len(t.SubjectAltNames) > maxSubjectAltNames {
		v.errorf(pos, owner, "list the names the target's certificate may carry",
			"subject_alt_names has %d entries, at most %d are allowed", len(t.SubjectAltNames), maxSubjectAltNames)
	}
	if t.InsecureSkipVerify {
		v.errorf(pos, owner, "remove insecure_skip_verify or subject_alt_names",
			"subject_alt_names cannot be checked with insecure_skip_verify")
	}
	for _, n := range t.SubjectAltNames {
		if strings.Contains(n, ":") {
			if u, err := url.Parse(n); err != nil || u.Scheme == "" || u.Opaque == "" && u.Host == "" && u.Path == "" {
				v.errorf(pos, owner, "write an absolute URI such as spiffe://cluster.local/ns/app/sa/web",
					"subject_alt_names entry %q is not an absolute URI", n)
			}
			continue
		}
		if !ValidHostname(strings.ToLower(strings.TrimPrefix(n, "*."))) {
			v.errorf(pos, owner, "write a DNS name such as api.internal or *.internal",
				"subject_alt_names entry %q is not a DNS name", n)
		}
	}
}
