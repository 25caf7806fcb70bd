// Package mtlsauth identifies clients by the TLS client certificate the
// listener verified, mapping certificate subjects and SANs to consumers.
package mtlsauth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/identity"
)

// Mapping maps certificates to a consumer. Every non-empty match field
// must match; mappings are tried in order and the first match wins.
type Mapping struct {
	// Subject is the full subject DN in RFC 2253 form, as Go prints it
	// (most specific first), e.g. "CN=alice,O=Example". Matched exactly.
	Subject string
	// CommonName is the subject's CN, matched exactly.
	CommonName string
	// DNSName, URI and Email match any SAN of that type; DNS names and
	// e-mail addresses case-insensitively, URIs exactly.
	DNSName string
	URI     string
	Email   string
	// Consumer is the configured consumer the certificate maps to.
	Consumer string
}

// Config configures an Authenticator.
type Config struct {
	// Mappings map certificates to consumers.
	Mappings []Mapping
	// Consumers are the configured consumers.
	Consumers identity.Consumers
	// RequireMapping refuses (403) verified certificates that match no
	// mapping, instead of admitting them with no consumer.
	RequireMapping bool
	// ForwardHeader, when set, carries the subject DN upstream.
	ForwardHeader string
}

// Authenticator maps verified client certificates to identities. It is
// safe for concurrent use.
type Authenticator struct {
	mappings       []mapping
	requireMapping bool
	forwardHeader  string
}

type mapping struct {
	Mapping
	consumer *identity.Consumer
}

// New compiles cfg, failing on a mapping without a match field or with
// an unknown consumer.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{requireMapping: cfg.RequireMapping}
	for i, m := range cfg.Mappings {
		if m.Subject == "" && m.CommonName == "" && m.DNSName == "" && m.URI == "" && m.Email == "" {
			return nil, fmt.Errorf("mapping %d matches nothing: set subject, common_name, dns_name, uri or email", i+1)
		}
		c := cfg.Consumers.Get(m.Consumer)
		if c == nil {
			return nil, fmt.Errorf("mapping %d: unknown consumer %q", i+1, m.Consumer)
		}
		a.mappings = append(a.mappings, mapping{Mapping: m, consumer: c})
	}
	if cfg.RequireMapping && len(a.mappings) == 0 {
		return nil, errors.New("require_mapping set but no mappings configured")
	}
	if cfg.ForwardHeader != "" {
		if !h1wire.IsToken(cfg.ForwardHeader) {
			return nil, fmt.Errorf("invalid forward header %q", cfg.ForwardHeader)
		}
		a.forwardHeader = textproto.CanonicalMIMEHeaderKey(cfg.ForwardHeader)
	}
	return a, nil
}

// Challenge returns "": TLS has no WWW-Authenticate scheme.
func (a *Authenticator) Challenge() string { return "" }

// Authenticate identifies the client by its verified certificate. Only
// r.TLS.VerifiedChains counts: PeerCertificates alone are whatever the
// client sent, and a listener that requests but does not verify client
// certificates would otherwise let anyone claim any subject. No TLS or
// no verified chain means no credentials.
func (a *Authenticator) Authenticate(r *http.Request) (*identity.Identity, error) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, identity.ErrNoCredentials
	}
	leaf := r.TLS.VerifiedChains[0][0]
	id := &identity.Identity{Method: "mtls", Subject: leaf.Subject.String()}
	for i := range a.mappings {
		if m := &a.mappings[i]; m.matches(leaf, id.Subject) {
			id.Consumer = m.consumer
			id.Groups = slices.Clip(m.consumer.Groups)
			break
		}
	}
	if id.Consumer == nil && a.requireMapping {
		return nil, identity.Forbidden("client certificate is not mapped to a consumer")
	}
	if a.forwardHeader != "" {
		id.Upstream = http.Header{a.forwardHeader: {headerSafe(id.Subject)}}
	}
	return id, nil
}

func (m *mapping) matches(c *x509.Certificate, subject string) bool {
	return (m.Subject == "" || m.Subject == subject) &&
		(m.CommonName == "" || m.CommonName == c.Subject.CommonName) &&
		(m.DNSName == "" || slices.ContainsFunc(c.DNSNames, func(s string) bool { return strings.EqualFold(s, m.DNSName) })) &&
		(m.Email == "" || slices.ContainsFunc(c.EmailAddresses, func(s string) bool { return strings.EqualFold(s, m.Email) })) &&
		(m.URI == "" || slices.ContainsFunc(c.URIs, func(u *url.URL) bool { return u.String() == m.URI }))
}

// headerSafe replaces control characters, which a DN may hold escaped
// only loosely, so the value cannot split or corrupt a header.
func headerSafe(s string) string {
	if !strings.ContainsFunc(s, isCtl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isCtl(r) {
			return '?'
		}
		return r
	}, s)
}

func isCtl(r rune) bool { return r < 0x20 || r == 0x7f }
