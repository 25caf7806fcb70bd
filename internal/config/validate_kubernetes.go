package config

import "net/netip"

func (v *validator) kubernetes(k *Kubernetes) {
	if k == nil {
		return
	}
	if k.PortOffset < 0 || k.PortOffset > 65000 {
		v.errorf(v.at(&k.PortOffset, k.Pos), "kubernetes", "use 0..65000, such as 8000 to bind port 80 as 8080",
			"port_offset %d is out of range", k.PortOffset)
	}
	if h := k.ListenHost; h != "" {
		if _, err := netip.ParseAddr(h); err != nil && !ValidHostname(h) {
			v.errorf(v.at(&k.ListenHost, k.Pos), "kubernetes", "use an IP address such as 127.0.0.1, or a host name",
				"listen_host %q is not an address or host name", h)
		}
	}
}
