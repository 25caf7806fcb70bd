package discovery

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// DNS record types and response codes (RFC 1035, RFC 3596, RFC 2782).
const (
	typeA    = 1
	typeAAAA = 28
	typeSRV  = 33

	rcodeOK       = 0
	rcodeServFail = 2
	rcodeNXDomain = 3
)

// failMode makes the server misbehave for one name.
type failMode int

const (
	answer   failMode = iota // answer from the records (NXDOMAIN if the name has none)
	servfail                 // reply SERVFAIL
	drop                     // never reply, so the client times out
	empty                    // NOERROR with no answers
)

type srvRecord struct {
	priority, weight, port uint16
	target                 string
}

// dnsServer is a minimal authoritative DNS server on 127.0.0.1 (UDP) that
// answers A, AAAA and SRV questions from in-memory records the test edits.
type dnsServer struct {
	conn *net.UDPConn
	wg   sync.WaitGroup

	mu      sync.Mutex
	records map[string][][]byte // "name/type" → RDATA of each answer
	modes   map[string]failMode // name → failure mode
	queries int
}

func newDNSServer(t testing.TB) *dnsServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{conn: conn, records: map[string][][]byte{}, modes: map[string]failMode{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		conn.Close()
		s.wg.Wait()
	})
	return s
}

// resolver returns a pure-Go resolver whose every query goes to s.
func (s *dnsServer) resolver() *net.Resolver {
	addr := s.conn.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) + "." }

func key(name string, typ uint16) string {
	return canonical(name) + "/" + map[uint16]string{typeA: "A", typeAAAA: "AAAA", typeSRV: "SRV"}[typ]
}

// setIPs replaces name's A and AAAA records with addrs (in that order).
func (s *dnsServer) setIPs(name string, addrs ...string) {
	var a, aaaa [][]byte
	for _, raw := range addrs {
		ip := netip.MustParseAddr(raw)
		if ip.Is4() {
			b := ip.As4()
			a = append(a, b[:])
		} else {
			b := ip.As16()
			aaaa = append(aaaa, b[:])
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key(name, typeA)] = a
	s.records[key(name, typeAAAA)] = aaaa
}

func (s *dnsServer) setSRV(name string, recs ...srvRecord) {
	var rdata [][]byte
	for _, r := range recs {
		b := binary.BigEndian.AppendUint16(nil, r.priority)
		b = binary.BigEndian.AppendUint16(b, r.weight)
		b = binary.BigEndian.AppendUint16(b, r.port)
		rdata = append(rdata, appendName(b, r.target))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[key(name, typeSRV)] = rdata
}

func (s *dnsServer) setMode(name string, m failMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modes[canonical(name)] = m
}

func (s *dnsServer) queryCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

// appendName appends name in uncompressed wire format.
func appendName(b []byte, name string) []byte {
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" {
			continue
		}
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

func (s *dnsServer) serve() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if resp := s.handle(buf[:n]); resp != nil {
			_, _ = s.conn.WriteToUDP(resp, from)
		}
	}
}

// handle answers one query; nil means do not reply.
func (s *dnsServer) handle(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	// Question: labels up to the root label, then QTYPE and QCLASS.
	// Queries never use compression.
	var labels []string
	off := 12
	for {
		if off >= len(q) {
			return nil
		}
		l := int(q[off])
		off++
		if l == 0 {
			break
		}
		if l&0xC0 != 0 || off+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[off:off+l]))
		off += l
	}
	if off+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[off : off+2])
	question := q[12 : off+4]
	name := canonical(strings.Join(labels, "."))

	s.mu.Lock()
	s.queries++
	mode := s.modes[name]
	rdata := s.records[key(name, qtype)]
	known := false
	for _, typ := range []uint16{typeA, typeAAAA, typeSRV} {
		known = known || len(s.records[key(name, typ)]) > 0
	}
	s.mu.Unlock()

	rcode := rcodeOK
	switch mode {
	case drop:
		return nil
	case servfail:
		rcode, rdata = rcodeServFail, nil
	case empty:
		rdata = nil
	case answer:
		if !known {
			rcode = rcodeNXDomain
		}
	}

	flags := uint16(0x8000) | // QR: a response
		binary.BigEndian.Uint16(q[2:4])&0x7900 | // opcode and RD copied
		0x0400 | 0x0080 | // AA, RA
		uint16(rcode)
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q[0:2])) // ID
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1) // QDCOUNT
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
	resp = binary.BigEndian.AppendUint16(resp, 0) // NSCOUNT
	resp = binary.BigEndian.AppendUint16(resp, 0) // ARCOUNT
	resp = append(resp, question...)
	for _, rd := range rdata {
		resp = append(resp, 0xC0, 12) // NAME: pointer to the question's name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1)  // CLASS IN
		resp = binary.BigEndian.AppendUint32(resp, 30) // TTL
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
		resp = append(resp, rd...)
	}
	return resp
}
