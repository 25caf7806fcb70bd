// Package discovery turns targets given by DNS name (A/AAAA or SRV) into
// endpoints for an upstream pool and re-resolves them on an interval, so a
// pool follows DNS without a reload.
//
// The rules, chosen so that a DNS problem never takes traffic away:
//
//   - A spec whose lookup fails, times out or comes back empty keeps its
//     last good endpoints; the failure is logged once per streak (a warning
//     when it starts, an info line when it ends).
//   - SRV: only the group with the lowest priority value (the most preferred
//     one, RFC 2782) is used; the next group is used only when every target
//     of a lower group has no address (NXDOMAIN / no records). A lookup error
//     for any target of the group fails the whole spec for that round, so a
//     transient error never shifts traffic to the backup group. Weight comes
//     from the record, 0 counts as 1, and every address of a target gets the
//     record's weight.
//   - Endpoints are de-duplicated by scheme://ip:port (the highest weight
//     wins) and sorted by address, port and scheme, so the same answer in a
//     different order is not a change.
package discovery

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Spec describes targets given by name.
type Spec struct {
	// Scheme is "http" or "https".
	Scheme string
	// Host is a DNS name, or an IP literal, which is static and never
	// looked up. With SRV it is the full SRV name, e.g.
	// "_http._tcp.api.internal".
	Host string
	// Port is the port of every A/AAAA address (1..65535); unused with SRV.
	Port int
	// SRV resolves Host as SRV records; port and weight come from them.
	SRV bool
	// Weight is given to every A/AAAA address; unused with SRV. As for a
	// static target, 0 keeps the endpoint but sends it no traffic: the
	// configuration layer supplies the default of 1.
	Weight int
	// Family is "ip4", "ip6" or "ip" (both; the default when empty). With
	// SRV it applies to the addresses of the SRV targets.
	Family string
}

// String describes the spec for logs and errors.
func (s Spec) String() string {
	fam := s.family()
	if s.SRV {
		return fmt.Sprintf("SRV %s (%s, %s)", s.Host, s.Scheme, fam)
	}
	return fmt.Sprintf("%s://%s:%d (%s)", s.Scheme, s.Host, s.Port, fam)
}

func (s Spec) family() string {
	if s.Family == "" {
		return "ip"
	}
	return s.Family
}

// literal returns Host as an IP address when it is one ("[::1]" too).
func (s Spec) literal() (netip.Addr, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(s.Host, "["), "]")
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// validate reports a spec that can never resolve: a configuration error,
// not a DNS one.
func (s Spec) validate() error {
	var errs []error
	if s.Scheme != "http" && s.Scheme != "https" {
		errs = append(errs, fmt.Errorf("scheme %q: use http or https", s.Scheme))
	}
	if s.Host == "" {
		errs = append(errs, errors.New("host is empty"))
	}
	fam := s.family()
	if fam != "ip" && fam != "ip4" && fam != "ip6" {
		errs = append(errs, fmt.Errorf("family %q: use ip4, ip6 or ip", s.Family))
	}
	lit, isLit := s.literal()
	switch {
	case s.SRV && isLit:
		errs = append(errs, fmt.Errorf("SRV name %q is an IP address; give the SRV name, e.g. _http._tcp.api.internal", s.Host))
	case !s.SRV:
		if s.Port < 1 || s.Port > 65535 {
			errs = append(errs, fmt.Errorf("port %d is out of range 1..65535", s.Port))
		}
		if s.Weight < 0 {
			errs = append(errs, fmt.Errorf("weight %d is negative", s.Weight))
		}
		if isLit && !familyAllows(fam, lit) {
			errs = append(errs, fmt.Errorf("address %s is not in family %s", lit, fam))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("discovery: %s: %w", s, errors.Join(errs...))
	}
	return nil
}

func familyAllows(family string, a netip.Addr) bool {
	switch family {
	case "ip4":
		return a.Is4()
	case "ip6":
		return a.Is6()
	}
	return true
}

// Endpoint is one resolved target.
type Endpoint struct {
	// URL is scheme://ip:port, IPv6 bracketed.
	URL *url.URL
	// Weight is the relative share of traffic.
	Weight int
}

// endpoint is the internal, comparable form of an Endpoint.
type endpoint struct {
	scheme string
	addr   netip.AddrPort
	weight int
}

func (e endpoint) public() Endpoint {
	return Endpoint{URL: &url.URL{Scheme: e.scheme, Host: e.addr.String()}, Weight: e.weight}
}

func compareEndpoint(a, b endpoint) int {
	if c := a.addr.Compare(b.addr); c != 0 {
		return c
	}
	return strings.Compare(a.scheme, b.scheme)
}
