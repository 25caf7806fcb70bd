package listener

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

// ProxyAccept is a listener's PROXY protocol acceptance (proxy_protocol in
// the config) in comparable form, so Settings stay comparable and a change
// restarts the listener on reload. The zero value accepts no header and
// does not wrap the listener at all.
type ProxyAccept struct {
	// Trusted is the canonical list of trusted networks: masked, sorted,
	// comma-separated (NewProxyAccept builds it). "" = off.
	Trusted string
	// Timeout bounds the header read (0 = proxyproto.DefaultTimeout).
	Timeout time.Duration
	// Required: trusted peers must send a header.
	Required bool
}

// NewProxyAccept returns the comparable form of the given policy.
func NewProxyAccept(trusted []netip.Prefix, timeout time.Duration, required bool) ProxyAccept {
	parts := make([]string, 0, len(trusted))
	for _, p := range trusted {
		parts = append(parts, p.Masked().String())
	}
	slices.Sort(parts)
	return ProxyAccept{Trusted: strings.Join(slices.Compact(parts), ","), Timeout: timeout, Required: required}
}

// Enabled reports whether the listener accepts PROXY headers.
func (p ProxyAccept) Enabled() bool { return p.Trusted != "" }

// Config is the proxyproto policy; Trusted was built by NewProxyAccept, so
// every entry parses (an entry that does not is skipped: trusted less,
// never more).
func (p ProxyAccept) Config() proxyproto.AcceptConfig {
	var prefixes []netip.Prefix
	for s := range strings.SplitSeq(p.Trusted, ",") {
		if pf, err := netip.ParsePrefix(s); err == nil {
			prefixes = append(prefixes, pf)
		}
	}
	return proxyproto.AcceptConfig{Trusted: prefixes, Timeout: p.Timeout, Required: p.Required}
}
