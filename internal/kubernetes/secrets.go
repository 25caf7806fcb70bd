package kubernetes

import (
	"crypto/tls"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// certificates resolves a TLS listener's certificateRefs to PEM files
// under Options.SecretDir (recorded in Result.Files). It returns the
// usable pairs, or the ResolvedRefs reason and message when none is.
func (t *translator) certificates(gl *gwListener) ([]config.Certificate, string, string) {
	if gl.spec.TLS == nil || len(gl.spec.TLS.CertificateRefs) == 0 {
		return nil, "InvalidCertificateRef", "tls.certificateRefs is empty"
	}
	var out []config.Certificate
	reason, msg := "", ""
	for _, ref := range gl.spec.TLS.CertificateRefs {
		if (ref.Group != nil && *ref.Group != "") || (ref.Kind != nil && *ref.Kind != "Secret") {
			reason, msg = "InvalidCertificateRef", "only core Secrets are supported as certificateRefs"
			continue
		}
		ns := gl.gw.obj.Namespace
		if ref.Namespace != nil {
			ns = string(*ref.Namespace)
		}
		if ns != gl.gw.obj.Namespace && !t.granted(gwv1.GroupName, "Gateway", gl.gw.obj.Namespace, "", "Secret", ns, string(ref.Name)) {
			reason, msg = "RefNotPermitted", fmt.Sprintf("Secret %s/%s is not granted to Gateways of namespace %s by a ReferenceGrant", ns, ref.Name, gl.gw.obj.Namespace)
			continue
		}
		c, err := t.secretPair(ns, string(ref.Name))
		if err != nil {
			reason, msg = "InvalidCertificateRef", err.Error()
			continue
		}
		out = append(out, c)
	}
	return out, reason, msg
}

// secretPair checks a kubernetes.io/tls Secret and records its PEM files.
func (t *translator) secretPair(ns, name string) (config.Certificate, error) {
	s, ok := t.ix.secrets[key(ns, name)]
	if !ok {
		return config.Certificate{}, fmt.Errorf("Secret %s/%s not found", ns, name)
	}
	if s.Type != corev1.SecretTypeTLS {
		return config.Certificate{}, fmt.Errorf("Secret %s/%s is of type %q, not %s", ns, name, s.Type, corev1.SecretTypeTLS)
	}
	crt, key := secretValue(s, corev1.TLSCertKey), secretValue(s, corev1.TLSPrivateKeyKey)
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		return config.Certificate{}, fmt.Errorf("Secret %s/%s holds no usable certificate and key: %v", ns, name, err)
	}
	base := filepath.Join(t.opts.SecretDir, ns+"_"+name)
	c := config.Certificate{CertFile: base + ".crt", KeyFile: base + ".key"}
	t.res.Files[c.CertFile] = crt
	t.res.Files[c.KeyFile] = key
	return c, nil
}

// secretValue reads data, or stringData as kubectl would merge it.
func secretValue(s *corev1.Secret, k string) []byte {
	if v, ok := s.StringData[k]; ok {
		return []byte(v)
	}
	return s.Data[k]
}
