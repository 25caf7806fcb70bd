package proxyproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	pp "github.com/pires/go-proxyproto"
)

// Buffer sizes: bufio's minimum for untrusted peers (enough to see a whole
// v2 signature, 12 bytes), and for trusted ones room for the longest v1
// line (107 bytes, spec §2.1) so the library finds it in its buffer; v2
// addresses and TLVs stream through the buffer.
const (
	untrustedBuf = 16
	trustedBuf   = 256
	maxV1Line    = 107
)

// sigV1 is the v1 signature including its separator (spec §2.1); sigV2 is
// the 12-byte v2 signature (§2.2).
var sigV1 = []byte("PROXY ")

// signature is what the first bytes of a connection turned out to be.
type signature int

const (
	sigNone    signature = iota // cannot begin a header
	sigV1Found                  // "PROXY "
	sigV2Found                  // the v2 signature
	sigPartial                  // a signature prefix, then silence or EOF
)

// Read reads an optional header from c according to a, with the deadline
// a.Timeout (reset to none before it returns). An untrusted peer is read
// only far enough to refuse a header (up to 16 bytes, same timeout).
//
// A client that sends nothing is released after Timeout with an empty
// Rest (server-first protocols work, delayed by Timeout when the peer is
// trusted or the first byte is awaited); one whose first bytes cannot
// begin a signature is released as soon as they arrive.
func (a *AcceptConfig) Read(c net.Conn) (Result, error) {
	return a.read(c, time.Time{})
}

// read is Read leaving the read deadline at restore when it returns.
func (a *AcceptConfig) read(c net.Conn, restore time.Time) (res Result, err error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return Result{}, err
	}
	defer func() {
		if derr := c.SetReadDeadline(restore); derr != nil && err == nil {
			err = derr
		}
	}()
	trusted := a.trusts(c.RemoteAddr())
	size := untrustedBuf
	if trusted {
		size = trustedBuf
	}
	br := bufio.NewReaderSize(c, size)
	sig, err := sniff(br)
	defer func() { res.Rest = rest(br) }()
	switch {
	case err != nil:
		return Result{}, err
	case sig == sigPartial:
		return Result{}, fmt.Errorf("%w: incomplete signature", ErrRefused)
	case sig == sigNone:
		if trusted && a.Required {
			return Result{}, fmt.Errorf("%w: trusted peer sent no header", ErrRefused)
		}
		return Result{}, nil
	case !trusted:
		return Result{}, fmt.Errorf("%w: header from untrusted peer %v", ErrRefused, c.RemoteAddr())
	}
	if sig == sigV1Found {
		if err := bufferLine(br); err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
		}
	}
	h, err := pp.Read(br)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return fromHeader(h)
}

// trusts reports whether addr (the socket's peer) is in a.Trusted.
func (a *AcceptConfig) trusts(addr net.Addr) bool {
	var ip netip.Addr
	switch t := addr.(type) {
	case *net.TCPAddr:
		ip = t.AddrPort().Addr()
	case *net.UDPAddr:
		ip = t.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	for _, p := range a.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// sniff looks at the bytes as they arrive until they are a whole
// signature or cannot become one. A timeout with nothing received is
// sigNone (the client waits for the server); with a signature prefix, or
// EOF after one, it is sigPartial. Other read errors are returned.
func sniff(br *bufio.Reader) (signature, error) {
	for {
		b, _ := br.Peek(br.Buffered())
		switch {
		case bytes.HasPrefix(b, sigV1):
			return sigV1Found, nil
		case bytes.HasPrefix(b, pp.SIGV2):
			return sigV2Found, nil
		case len(b) > 0 && !bytes.HasPrefix(sigV1, b) && !bytes.HasPrefix(pp.SIGV2, b):
			return sigNone, nil
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			var ne net.Error
			switch {
			case len(b) == 0 && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, io.EOF)):
				return sigNone, nil
			case len(b) > 0 && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, io.EOF)):
				return sigPartial, nil
			}
			return sigNone, err
		}
	}
}

// bufferLine waits (under the deadline) until a whole v1 line is
// buffered: the library requires it in one buffer fill and would refuse a
// header that arrived in pieces, which the spec recommends tolerating.
func bufferLine(br *bufio.Reader) error {
	for {
		b, _ := br.Peek(br.Buffered())
		if bytes.IndexByte(b, '\n') >= 0 || len(b) >= maxV1Line {
			return nil
		}
		if _, err := br.Peek(len(b) + 1); err != nil {
			return err
		}
	}
}

// rest copies what br holds past the header.
func rest(br *bufio.Reader) []byte {
	n := br.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := br.Peek(n)
	return bytes.Clone(b)
}

// fromHeader extracts addresses (PROXY command over TCP or UDP only; LOCAL
// and UNSPEC leave them zero, spec §2.2) and the AUTHORITY and ALPN TLVs.
func fromHeader(h *pp.Header) (Result, error) {
	var res Result
	if h.Command.IsProxy() {
		switch {
		case h.TransportProtocol.IsStream() && !h.TransportProtocol.IsUnix():
			if s, d, ok := h.TCPAddrs(); ok {
				res.Source, res.Destination = unmap(s.AddrPort()), unmap(d.AddrPort())
			}
		case h.TransportProtocol.IsDatagram() && !h.TransportProtocol.IsUnix():
			if s, d, ok := h.UDPAddrs(); ok {
				res.Source, res.Destination = unmap(s.AddrPort()), unmap(d.AddrPort())
			}
		}
	}
	tlvs, err := h.TLVs()
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	for _, t := range tlvs {
		switch t.Type {
		case pp.PP2_TYPE_AUTHORITY:
			res.SNI = string(t.Value)
		case pp.PP2_TYPE_ALPN:
			res.ALPN = []string{string(t.Value)}
		}
	}
	return res, nil
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
