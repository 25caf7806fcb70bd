package listener

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for names into dir.
func writeCert(t *testing.T, dir, base string, names ...string) [2]string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, base+".pem"), filepath.Join(dir, base+".key")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return [2]string{cf, kf}
}

func TestCertificatesBySNI(t *testing.T) {
	dir := t.TempDir()
	cs, err := LoadCertificates([][2]string{
		writeCert(t, dir, "a", "a.test"),
		writeCert(t, dir, "wild", "*.b.test"),
		writeCert(t, dir, "c", "c.test", "a.test"), // a.test already taken by the first
	})
	if err != nil {
		t.Fatal(err)
	}
	for sni, want := range map[string]string{
		"a.test": "a.test", "A.TEST.": "a.test", "x.b.test": "*.b.test", "c.test": "c.test",
		"unknown.test": "a.test", "": "a.test", "y.x.b.test": "a.test",
	} {
		c, err := cs.Get(&tls.ClientHelloInfo{ServerName: sni})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Leaf.DNSNames[0]; got != want {
			t.Errorf("SNI %q: got certificate for %s, want %s", sni, got, want)
		}
	}
	if _, err := LoadCertificates([][2]string{{filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing.key")}}); err == nil {
		t.Fatal("missing certificate loaded")
	}
}
