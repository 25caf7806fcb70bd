package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted, from configuration or
// a JWKS. RFC 7518 §3.3 requires 2048 bits for RS*/PS*.
const minRSABits = 2048

// family is a key type. An algorithm belongs to exactly one family and a
// key is only ever handed to the verifier for algorithms of its family:
// that is what stops algorithm confusion.
type family uint8

const (
	famNone family = iota
	famHMAC
	famRSA
	famECDSA
	famEd25519
)

func (f family) String() string {
	switch f {
	case famHMAC:
		return "HMAC"
	case famRSA:
		return "RSA"
	case famECDSA:
		return "ECDSA"
	case famEd25519:
		return "Ed25519"
	}
	return "none"
}

// algFamily is the key family an algorithm verifies with; famNone for
// algorithms this package does not support, "none" included.
func algFamily(alg string) family {
	switch alg {
	case "HS256", "HS384", "HS512":
		return famHMAC
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return famRSA
	case "ES256", "ES384", "ES512":
		return famECDSA
	case "EdDSA":
		return famEd25519
	}
	return famNone
}

// verifyKey is one verification key with what it may verify.
type verifyKey struct {
	kid string
	fam family
	// alg restricts the key to one algorithm: an ECDSA key's curve fixes
	// it, a JWK may state it. "" allows every algorithm of the family.
	alg string
	key any // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// fits reports whether the key may verify a token signed with alg.
func (k *verifyKey) fits(alg string) bool {
	return k.fam == algFamily(alg) && (k.alg == "" || k.alg == alg)
}

// newVerifyKey classifies key. alg is the algorithm the key is declared
// for ("" for none); a declaration contradicting the key type is an error.
func newVerifyKey(kid, alg string, key any) (*verifyKey, error) {
	k := &verifyKey{kid: kid, alg: alg, key: key}
	switch pub := key.(type) {
	case []byte:
		if len(pub) == 0 {
			return nil, errors.New("empty HMAC secret")
		}
		k.fam = famHMAC
	case *rsa.PublicKey:
		if pub.N == nil || pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key shorter than %d bits", minRSABits)
		}
		k.fam = famRSA
	case *ecdsa.PublicKey:
		var curveAlg string
		switch pub.Curve {
		case elliptic.P256():
			curveAlg = "ES256"
		case elliptic.P384():
			curveAlg = "ES384"
		case elliptic.P521():
			curveAlg = "ES512"
		default:
			return nil, errors.New("unsupported ECDSA curve")
		}
		if alg != "" && alg != curveAlg {
			return nil, fmt.Errorf("ECDSA key on curve for %s declared for %s", curveAlg, alg)
		}
		k.fam, k.alg = famECDSA, curveAlg
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key size")
		}
		k.fam = famEd25519
	default:
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	if alg != "" && algFamily(alg) != k.fam {
		return nil, fmt.Errorf("%s key declared for algorithm %q", k.fam, alg)
	}
	return k, nil
}

// parsePublicKeyPEM reads the first PEM block of b: a PKIX public key
// ("PUBLIC KEY"), a PKCS #1 RSA public key ("RSA PUBLIC KEY") or a
// certificate, whose public key is used. Private keys are refused: they
// have no place in a gateway's configuration.
func parsePublicKeyPEM(b []byte) (any, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("PEM block is a private key (%s); configure the public key", block.Type)
	}
	return nil, fmt.Errorf("unsupported PEM block type %q", block.Type)
}

// keySet is an immutable index of verification keys. Keys without a kid
// are wildcards: they verify tokens without a kid, and tokens whose kid
// names no key.
type keySet struct {
	byKID    map[string][]*verifyKey
	wildcard []*verifyKey
	all      []*verifyKey
}

func newKeySet(keys []*verifyKey) *keySet {
	s := &keySet{byKID: make(map[string][]*verifyKey), all: keys}
	for _, k := range keys {
		if k.kid == "" {
			s.wildcard = append(s.wildcard, k)
		} else {
			s.byKID[k.kid] = append(s.byKID[k.kid], k)
		}
	}
	return s
}

// appendFitting appends to dst the keys of s that may verify alg and that
// kid selects (every key when kid is ""). known reports whether kid named
// at least one key, fitting or not.
func (s *keySet) appendFitting(dst []jwt.VerificationKey, kid, alg string) (out []jwt.VerificationKey, known bool) {
	if s == nil {
		return dst, false
	}
	keys := s.all
	if kid != "" {
		keys = s.byKID[kid]
		known = len(keys) > 0
	}
	for _, k := range keys {
		if k.fits(alg) {
			dst = append(dst, k.key)
		}
	}
	return dst, known
}

// appendWildcards appends the keys without a kid that may verify alg.
func (s *keySet) appendWildcards(dst []jwt.VerificationKey, alg string) []jwt.VerificationKey {
	if s == nil {
		return dst
	}
	for _, k := range s.wildcard {
		if k.fits(alg) {
			dst = append(dst, k.key)
		}
	}
	return dst
}

// hasFamily reports whether any key of s belongs to f.
func (s *keySet) hasFamily(f family) bool {
	for _, k := range s.all {
		if k.fam == f {
			return true
		}
	}
	return false
}
