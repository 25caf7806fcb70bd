package listener

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
)

// Certificates picks a certificate by SNI: an exact name first, then a
// wildcard one level up, then the first certificate as the default (for
// clients that send no SNI, or a name we do not serve).
type Certificates struct {
	byName map[string]*tls.Certificate
	def    *tls.Certificate
}

// LoadCertificates loads PEM pairs and indexes them by the DNS names in
// their SANs (or Common Name when a certificate has no SAN).
func LoadCertificates(pairs [][2]string) (*Certificates, error) {
	cs := &Certificates{byName: map[string]*tls.Certificate{}}
	for _, p := range pairs {
		cert, err := tls.LoadX509KeyPair(p[0], p[1])
		if err != nil {
			return nil, fmt.Errorf("load certificate %s: %w", p[0], err)
		}
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("parse certificate %s: %w", p[0], err)
		}
		cert.Leaf = leaf
		names := leaf.DNSNames
		if len(names) == 0 && leaf.Subject.CommonName != "" {
			names = []string{leaf.Subject.CommonName}
		}
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		c := &cert
		for _, n := range names {
			n = strings.ToLower(n)
			if _, dup := cs.byName[n]; !dup { // the first listed certificate wins a name
				cs.byName[n] = c
			}
		}
		if cs.def == nil {
			cs.def = c
		}
	}
	if cs.def == nil {
		return nil, fmt.Errorf("no certificates")
	}
	return cs, nil
}

// Get implements tls.Config.GetCertificate.
func (cs *Certificates) Get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		if c, ok := cs.byName[name]; ok {
			return c, nil
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c, ok := cs.byName["*"+name[i:]]; ok {
				return c, nil
			}
		}
	}
	return cs.def, nil
}
