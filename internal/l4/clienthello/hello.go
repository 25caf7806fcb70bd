package clienthello

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// Extension code points (IANA TLS ExtensionType registry).
const (
	extServerName = 0  // RFC 6066 §3
	extALPN       = 16 // RFC 7301 §3.1
	nameTypeHost  = 0  // RFC 6066 §3 NameType host_name
)

// parse reads a ClientHello handshake message (RFC 8446 §4.1.2, header
// included) with the same structural rules as crypto/tls: every vector
// well-formed, no trailing bytes, no extension twice (§4.2), at most one
// host_name, no trailing dot (RFC 6066 §3), no empty ALPN name (RFC 7301
// §3.1). Extensions other than SNI and ALPN are skipped unparsed.
func parse(msg []byte) (Info, error) {
	s := cryptobyte.String(msg)
	var (
		vers                                   uint16
		random, sessionID, suites, compr, exts cryptobyte.String
	)
	if !s.Skip(handshakeHeaderLen) ||
		!s.ReadUint16(&vers) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) ||
		!s.ReadUint16LengthPrefixed(&suites) || len(suites)%2 != 0 ||
		!s.ReadUint8LengthPrefixed(&compr) {
		return Info{}, fmt.Errorf("%w: bad fixed fields", ErrMalformed)
	}
	info := Info{TLS: true}
	if s.Empty() { // extensions are optional before TLS 1.3
		return info, nil
	}
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return Info{}, fmt.Errorf("%w: bad extensions block", ErrMalformed)
	}
	seen := make(map[uint16]bool)
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return Info{}, fmt.Errorf("%w: bad extension", ErrMalformed)
		}
		if seen[typ] {
			return Info{}, fmt.Errorf("%w: extension %d twice", ErrMalformed, typ)
		}
		seen[typ] = true
		var err error
		switch typ {
		case extServerName:
			info.ServerName, err = serverName(data)
		case extALPN:
			info.ALPN, err = alpn(data)
		}
		if err != nil {
			return Info{}, err
		}
	}
	return info, nil
}

// serverName reads the ServerNameList (RFC 6066 §3) and returns the
// host_name, ASCII-lower-cased (DNS names compare case-insensitively,
// RFC 4343; ASCII only so no Unicode folding can make two names equal).
func serverName(data cryptobyte.String) (string, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || list.Empty() {
		return "", fmt.Errorf("%w: bad server_name list", ErrMalformed)
	}
	name := ""
	for !list.Empty() {
		var typ uint8
		var n cryptobyte.String
		if !list.ReadUint8(&typ) || !list.ReadUint16LengthPrefixed(&n) || n.Empty() {
			return "", fmt.Errorf("%w: bad server_name entry", ErrMalformed)
		}
		if typ != nameTypeHost {
			continue
		}
		if name != "" {
			return "", fmt.Errorf("%w: two host_names", ErrMalformed)
		}
		name = string(n)
		if strings.HasSuffix(name, ".") {
			return "", fmt.Errorf("%w: host_name with a trailing dot", ErrMalformed)
		}
	}
	return asciiLower(name), nil
}

// alpn reads the ProtocolNameList (RFC 7301 §3.1): non-empty, of
// non-empty names.
func alpn(data cryptobyte.String) ([]string, error) {
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || list.Empty() {
		return nil, fmt.Errorf("%w: bad ALPN list", ErrMalformed)
	}
	var out []string
	for !list.Empty() {
		var p cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&p) || p.Empty() {
			return nil, fmt.Errorf("%w: bad ALPN name", ErrMalformed)
		}
		out = append(out, string(p))
	}
	return out, nil
}

// asciiLower lower-cases A-Z only.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
