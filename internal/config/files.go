package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"path/filepath"
)

// Files named by the configuration (certificates, CA bundles, body files)
// are checked at load time so that a typo fails `gatehouse validate` and a
// reload, not the first TLS handshake.

// resolvePath makes p absolute, relative to the directory of the YAML file
// that named it: a config directory can be moved or mounted elsewhere
// together with its certificates.
func resolvePath(p string, in Pos) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	joined := filepath.Join(filepath.Dir(in.File), p)
	if abs, err := filepath.Abs(joined); err == nil {
		return abs
	}
	return joined
}

// readProblem turns a read error into a problem naming what was read.
func readProblem(what, path string, err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return newProblem(p.hint, "%s %s %s", what, path, p.msg)
	}
	return newProblem("check the path; relative paths are relative to the YAML file", "cannot read %s: %v", what, err)
}

// checkKeyPair does what tls.LoadX509KeyPair does, but through readFile so
// a path such as /dev/zero cannot hang or exhaust memory.
func checkKeyPair(certFile, keyFile string) *problem {
	certPEM, err := readFile(certFile)
	if err != nil {
		return readProblem("cert_file", certFile, err)
	}
	keyPEM, err := readFile(keyFile)
	if err != nil {
		return readProblem("key_file", keyFile, err)
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return newProblem("cert_file must hold a PEM certificate chain and key_file its PEM private key",
			"certificate %s and key %s do not load: %v", certFile, keyFile, err)
	}
	return nil
}

// checkCAFile verifies a CA bundle holds at least one PEM certificate; an
// empty pool would make every upstream handshake fail.
func checkCAFile(path string) *problem {
	data, err := readFile(path)
	if err != nil {
		return readProblem("ca_file", path, err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return newProblem("it must contain PEM blocks starting with -----BEGIN CERTIFICATE-----",
			"ca_file %s contains no PEM certificate", path)
	}
	return nil
}
