package translate

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// verifySANs returns a tls.Config.VerifyConnection that replaces Go's
// default check (chain + server name) by chain + subject alternative
// names, for upstreams with tls.subject_alt_names (Gateway API
// BackendTLSPolicy: "If SubjectAltNames are specified, Hostname can be
// used for certificate selection but MUST NOT be used for
// authentication"; the certificate "MUST have at least one Subject
// Alternate Name matching one of the specified SubjectAltNames").
//
// The caller sets InsecureSkipVerify so that crypto/tls skips its own
// verification, which would insist on ServerName; this function then
// verifies the chain against roots (nil = system roots) exactly as
// crypto/tls would, without a DNS name, and accepts the leaf only if it
// carries one of sans: a DNS name is matched with x509's VerifyHostname
// (certificate wildcards count), a "*." name must appear literally, and a
// URI (any entry holding ":") must equal one of the certificate's URI SANs.
func verifySANs(roots *x509.CertPool, sans []string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("tls: upstream sent no certificate")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
			return err
		}
		for _, s := range sans {
			if sanMatches(leaf, s) {
				return nil
			}
		}
		return fmt.Errorf("tls: upstream certificate matches none of subject_alt_names %v", sans)
	}
}

func sanMatches(leaf *x509.Certificate, s string) bool {
	switch {
	case strings.Contains(s, ":"):
		for _, u := range leaf.URIs {
			if u.String() == s {
				return true
			}
		}
	case strings.HasPrefix(s, "*."):
		for _, d := range leaf.DNSNames {
			if strings.EqualFold(d, s) {
				return true
			}
		}
	default:
		return leaf.VerifyHostname(s) == nil
	}
	return false
}
