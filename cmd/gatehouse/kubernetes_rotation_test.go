package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/gatehouse/gatehouse/internal/kubernetes/controller"
)

// TestKubernetesCertificateRotation wires the real controller (REAL
// informers on the client-go and gateway-api FAKE clientsets, no API
// server) to run --kubernetes's Build and gateway: the HTTPS listener of a
// Gateway serves the Secret's certificate, and after the Secret is
// updated it serves the new one, without a restart.
func TestKubernetesCertificateRotation(t *testing.T) {
	port := freePort(t)
	crt1, key1 := testCert(t, 1)
	ctx := context.Background()
	kube := kubefake.NewClientset()
	gw := gwfake.NewSimpleClientset() //nolint:staticcheck // NewClientset's field manager refuses Gateway API kinds
	gw.Resources = []*metav1.APIResourceList{{GroupVersion: "gateway.networking.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "gatewayclasses"}, {Name: "gateways", Namespaced: true}}}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cert", Namespace: "default"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt1, corev1.TLSPrivateKeyKey: key1}}
	must(t, errOf(kube.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{})))
	must(t, errOf(gw.GatewayV1().GatewayClasses().Create(ctx, &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "gatehouse"},
		Spec: gwv1.GatewayClassSpec{ControllerName: "gatehouse.dev/gateway-controller"}}, metav1.CreateOptions{})))
	must(t, errOf(gw.GatewayV1().Gateways("default").Create(ctx, &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "default"},
		Spec: gwv1.GatewaySpec{GatewayClassName: "gatehouse", Listeners: []gwv1.Listener{{
			Name: "https", Port: gwv1.PortNumber(port), Protocol: gwv1.HTTPSProtocolType,
			TLS: &gwv1.ListenerTLSConfig{CertificateRefs: []gwv1.SecretObjectReference{{Name: "cert"}}},
		}}}}, metav1.CreateOptions{})))

	base := filepath.Join(t.TempDir(), "base.yaml")
	os.WriteFile(base, []byte("kubernetes: {listen_host: 127.0.0.1}\nlog: {level: error}\n"), 0o644)
	km, err := newKubeMode(kubeFlags{path: base})
	if err != nil {
		t.Fatal(err)
	}
	defer km.cleanup()
	cfg := km.controllerConfig(kubeFlags{path: base})
	cfg.DisableLeaderElection, cfg.Quiet, cfg.MaxDelay = true, 10*time.Millisecond, 100*time.Millisecond
	ctl, err := controller.New(kube, gw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctl.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		if km.started {
			km.gw.Shutdown()
		}
	}()

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitServes(t, addr, 1)
	crt2, key2 := testCert(t, 2)
	secret.Data = map[string][]byte{corev1.TLSCertKey: crt2, corev1.TLSPrivateKeyKey: key2}
	must(t, errOf(kube.CoreV1().Secrets("default").Update(ctx, secret, metav1.UpdateOptions{})))
	waitServes(t, addr, 2)
}

// waitServes polls TLS handshakes until addr presents the certificate
// with the given serial (20 s at most).
func waitServes(t *testing.T, addr string, serial int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		d := &net.Dialer{Timeout: time.Second}
		conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: "a.example", InsecureSkipVerify: true})
		if err == nil {
			got := conn.ConnectionState().PeerCertificates[0].SerialNumber
			conn.Close()
			if got.Int64() == serial {
				return
			}
			last = "serial " + got.String()
		} else {
			last = err.Error()
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never served certificate %d (last: %s)", addr, serial, last)
}

func testCert(t *testing.T, serial int64) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "a.example"}, DNSNames: []string{"a.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func errOf[T any](_ T, err error) error { return err }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
