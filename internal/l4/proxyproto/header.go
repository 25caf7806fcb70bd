package proxyproto

import (
	"fmt"
	"net"
	"net/netip"

	pp "github.com/pires/go-proxyproto"
)

// Header returns the header of version (1 or 2) for a connection from src
// to dst; for v2 it adds the TLVs AUTHORITY (sni, if not empty) and ALPN
// (the first of alpn, if any; spec §2.2.1: the negotiated protocol).
//
// Families: two IPv4 addresses give TCP4 / TCPv4; any other pair of valid
// addresses gives TCP6 / TCPv6 with the IPv4 one v4-mapped (::ffff:a.b.c.d)
// so the client address survives. An invalid src or dst (no client known)
// gives "PROXY UNKNOWN" (v1) or LOCAL (v2): the receiver then keeps the
// socket's own addresses.
func Header(version int, src, dst netip.AddrPort, sni string, alpn []string) ([]byte, error) {
	h, err := newHeader(version, src, dst, false)
	if err != nil {
		return nil, err
	}
	if version == 2 {
		var tlvs []pp.TLV
		if sni != "" {
			tlvs = append(tlvs, pp.TLV{Type: pp.PP2_TYPE_AUTHORITY, Value: []byte(sni)})
		}
		if len(alpn) > 0 && alpn[0] != "" {
			tlvs = append(tlvs, pp.TLV{Type: pp.PP2_TYPE_ALPN, Value: []byte(alpn[0])})
		}
		if err := h.SetTLVs(tlvs); err != nil {
			return nil, err
		}
	}
	return h.Format()
}

// HeaderDatagram is Header for UDP (v2 only, DGRAM transport family),
// prefixed to every datagram.
func HeaderDatagram(src, dst netip.AddrPort) ([]byte, error) {
	h, err := newHeader(2, src, dst, true)
	if err != nil {
		return nil, err
	}
	return h.Format()
}

func newHeader(version int, src, dst netip.AddrPort, dgram bool) (*pp.Header, error) {
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("proxyproto: version %d, want 1 or 2", version)
	}
	h := &pp.Header{Version: byte(version), Command: pp.LOCAL, TransportProtocol: pp.UNSPEC}
	if !src.IsValid() || !dst.IsValid() {
		return h, nil
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	v4 := s.Is4() && d.Is4()
	if !v4 {
		s, d = netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16())
	}
	sa, da := netip.AddrPortFrom(s, src.Port()), netip.AddrPortFrom(d, dst.Port())
	h.Command = pp.PROXY
	switch {
	case dgram && v4:
		h.TransportProtocol = pp.UDPv4
	case dgram:
		h.TransportProtocol = pp.UDPv6
	case v4:
		h.TransportProtocol = pp.TCPv4
	default:
		h.TransportProtocol = pp.TCPv6
	}
	if dgram {
		h.SourceAddr, h.DestinationAddr = net.UDPAddrFromAddrPort(sa), net.UDPAddrFromAddrPort(da)
	} else {
		h.SourceAddr, h.DestinationAddr = net.TCPAddrFromAddrPort(sa), net.TCPAddrFromAddrPort(da)
	}
	return h, nil
}
