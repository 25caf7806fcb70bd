package gatewayapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// managedBy labels the EndpointSlices the kubelet stand-in writes, so the
// slices some tests apply themselves are left alone.
const managedBy = "gatehouse-conformance"

// kubelet stands in for the kubelet and the EndpointSlice controller: every
// Deployment gets one Ready Pod per replica, each an echo-basic server on
// its own loopback address (127.1.x.y, so replicas share container ports
// as pods do), and every Service with a selector gets an EndpointSlice of
// the ready Pods it selects.
type kubelet struct {
	c     client.Client
	mu    sync.Mutex
	pods  map[string]*pod // by namespace/name
	nextN int             // last pod address handed out
}

type pod struct {
	name, namespace, deployment, ip string
	labels                          map[string]string
	ports                           map[string]int32 // container port name → number
	closers                         []func()
	log                             podLog
}

func newKubelet(c client.Client) *kubelet {
	return &kubelet{c: c, pods: map[string]*pod{}}
}

// nextIP hands out 127.1.0.1, 127.1.0.2, ... never reusing one, so a
// replaced pod's lingering connections cannot reach its successor.
func (k *kubelet) nextIP() string {
	k.nextN++
	return fmt.Sprintf("127.1.%d.%d", k.nextN/250, k.nextN%250+1)
}

// sync makes Pods and echo servers match the Deployments, then
// EndpointSlices match the Services. It reports whether it wrote anything.
func (k *kubelet) sync(ctx context.Context) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	wrote := false
	var deps appsv1.DeploymentList
	if err := k.c.List(ctx, &deps); err != nil {
		return false, err
	}
	want := map[string]bool{}
	for i := range deps.Items {
		d := &deps.Items[i]
		n := 1
		if d.Spec.Replicas != nil {
			n = int(*d.Spec.Replicas)
		}
		for r := range n {
			name := fmt.Sprintf("%s-gh-%d", d.Name, r)
			key := d.Namespace + "/" + name
			want[key] = true
			if _, ok := k.pods[key]; ok {
				continue
			}
			p, err := k.start(ctx, d, name)
			if err != nil {
				return wrote, fmt.Errorf("deployment %s/%s: %w", d.Namespace, d.Name, err)
			}
			k.pods[key] = p
			wrote = true
		}
	}
	for key, p := range k.pods {
		if want[key] {
			continue
		}
		p.stop()
		delete(k.pods, key)
		err := k.c.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.name}})
		if err != nil && !apierrors.IsNotFound(err) {
			return wrote, err
		}
		wrote = true
	}
	w, err := k.syncSlices(ctx)
	return wrote || w, err
}

// start runs the pod's servers and creates its Pod object, Ready.
func (k *kubelet) start(ctx context.Context, d *appsv1.Deployment, name string) (*pod, error) {
	p := &pod{name: name, namespace: d.Namespace, deployment: d.Name, ip: k.nextIP(),
		labels: d.Spec.Template.Labels, ports: map[string]int32{}}
	spec := d.Spec.Template.Spec
	for _, ctr := range spec.Containers {
		for _, cp := range ctr.Ports {
			if cp.Name != "" {
				p.ports[cp.Name] = cp.ContainerPort
			}
		}
		if strings.Contains(ctr.Image, "echo-basic") {
			if err := k.runEcho(ctx, p, ctr, spec.Volumes); err != nil {
				p.stop()
				return nil, err
			}
		}
	}
	now := metav1.NewTime(time.Now())
	po := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, Labels: p.labels},
		Spec:       spec,
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: p.ip, PodIPs: []corev1.PodIP{{IP: p.ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		},
	}
	if err := k.c.Create(ctx, po); err != nil && !apierrors.IsAlreadyExists(err) {
		p.stop()
		return nil, err
	}
	return p, nil
}

// runEcho starts what the echo-basic image would for this container's
// environment. Ports and environment follow echo-basic's defaults
// (HTTP_PORT 3000, H2C_PORT 3001, HTTPS_PORT 8443).
func (k *kubelet) runEcho(ctx context.Context, p *pod, ctr corev1.Container, vols []corev1.Volume) error {
	env := map[string]string{}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = p.name
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = p.namespace
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	get := func(k, def string) string {
		if v := env[k]; v != "" {
			return v
		}
		return def
	}
	ec := echoContext{Namespace: env["NAMESPACE"], Ingress: env["INGRESS_NAME"], Service: env["SERVICE_NAME"], Pod: env["POD_NAME"]}
	switch {
	case env["GRPC_ECHO_SERVER"] != "":
		return p.serveGRPC(get("HTTP_PORT", "3000"), ec)
	case env["TCP_ECHO_SERVER"] != "", env["UDP_ECHO_SERVER"] != "":
		return nil // L4 echo servers: not stood in for yet
	}
	httpPort := get("HTTP_PORT", "3000")
	h := echoHandler(ec, httpPort, &p.log)
	if err := p.serveHTTP(httpPort, h, false, nil); err != nil {
		return err
	}
	if err := p.serveHTTP(get("H2C_PORT", "3001"), h2cOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echoBack(w, r, ec, httpPort, &p.log)
	})), true, nil); err != nil {
		return err
	}
	if env["TLS_SERVER_CERT"] != "" && env["TLS_SERVER_PRIVKEY"] != "" {
		certPEM, err := k.mountedFile(ctx, p.namespace, ctr, vols, env["TLS_SERVER_CERT"])
		if err != nil {
			return err
		}
		keyPEM, err := k.mountedFile(ctx, p.namespace, ctr, vols, env["TLS_SERVER_PRIVKEY"])
		if err != nil {
			return err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return err
		}
		tc := &tls.Config{Certificates: []tls.Certificate{cert}}
		if path := env["TLS_CLIENT_CACERTS"]; path != "" {
			// echo-basic: verify a client certificate against these CAs
			// when one is given, and echo it back.
			caPEM, err := k.mountedFile(ctx, p.namespace, ctr, vols, path)
			if err != nil {
				return err
			}
			tc.ClientCAs = x509.NewCertPool()
			if !tc.ClientCAs.AppendCertsFromPEM(caPEM) {
				return fmt.Errorf("%s holds no CA certificate", path)
			}
			tc.ClientAuth = tls.VerifyClientCertIfGiven
		}
		return p.serveHTTP(get("HTTPS_PORT", "8443"), h, false, tc)
	}
	return nil
}

// mountedFile reads the file a container sees at path from the Secret or
// ConfigMap volume mounted there.
func (k *kubelet) mountedFile(ctx context.Context, ns string, ctr corev1.Container, vols []corev1.Volume, path string) ([]byte, error) {
	for _, m := range ctr.VolumeMounts {
		rest, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range vols {
			if v.Name != m.Name {
				continue
			}
			switch {
			case v.Secret != nil:
				var s corev1.Secret
				if err := k.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.Secret.SecretName}, &s); err != nil {
					return nil, err
				}
				if b, ok := s.Data[itemKey(v.Secret.Items, rest)]; ok {
					return b, nil
				}
			case v.ConfigMap != nil:
				var cm corev1.ConfigMap
				if err := k.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: v.ConfigMap.Name}, &cm); err != nil {
					return nil, err
				}
				if d, ok := cm.Data[itemKey(v.ConfigMap.Items, rest)]; ok {
					return []byte(d), nil
				}
			}
			return nil, fmt.Errorf("volume %s has no file %q", v.Name, rest)
		}
	}
	return nil, fmt.Errorf("%s is not on a mounted secret or configMap volume", path)
}

// itemKey is the key projected to file name in a volume (the file name
// itself without items).
func itemKey(items []corev1.KeyToPath, name string) string {
	for _, it := range items {
		if it.Path == name {
			return it.Key
		}
	}
	return name
}

func (p *pod) serveHTTP(port string, h http.Handler, h2c bool, tc *tls.Config) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(p.ip, port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tc}
	if h2c {
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetUnencryptedHTTP2(true)
	}
	go func() {
		var err error
		if tc != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Printf("echo %s/%s: %v\n", p.namespace, p.name, err)
		}
	}()
	p.closers = append(p.closers, func() { srv.Close() })
	return nil
}

func (p *pod) stop() {
	for _, c := range p.closers {
		c()
	}
	p.closers = nil
}

// log returns the output of pod namespace/name, nil if there is no such pod.
func (k *kubelet) log(namespace, name string) *podLog {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.pods[namespace+"/"+name]; ok {
		return &p.log
	}
	return nil
}

// stopAll stops every pod's servers (end of the run).
func (k *kubelet) stopAll() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, p := range k.pods {
		p.stop()
	}
}

// syncSlices writes one EndpointSlice per Service with a selector: its
// ready pods, and the Service's ports with targetPort resolved (a name is
// looked up among the pod's container ports).
func (k *kubelet) syncSlices(ctx context.Context) (bool, error) {
	var svcs corev1.ServiceList
	if err := k.c.List(ctx, &svcs); err != nil {
		return false, err
	}
	var slices discoveryv1.EndpointSliceList
	if err := k.c.List(ctx, &slices, client.MatchingLabels{discoveryv1.LabelManagedBy: managedBy}); err != nil {
		return false, err
	}
	existing := map[string]*discoveryv1.EndpointSlice{}
	for i := range slices.Items {
		s := &slices.Items[i]
		existing[s.Namespace+"/"+s.Name] = s
	}
	wrote := false
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		want := k.sliceFor(svc)
		key := want.Namespace + "/" + want.Name
		cur, ok := existing[key]
		delete(existing, key)
		switch {
		case !ok:
			if err := k.c.Create(ctx, want); err != nil {
				return wrote, err
			}
			wrote = true
		case !reflect.DeepEqual(cur.Endpoints, want.Endpoints) || !reflect.DeepEqual(cur.Ports, want.Ports):
			cur.Endpoints, cur.Ports = want.Endpoints, want.Ports
			if err := k.c.Update(ctx, cur); err != nil {
				return wrote, err
			}
			wrote = true
		}
	}
	for _, s := range existing { // their Service is gone
		if err := k.c.Delete(ctx, s); err != nil && !apierrors.IsNotFound(err) {
			return wrote, err
		}
		wrote = true
	}
	return wrote, nil
}

func (k *kubelet) sliceFor(svc *corev1.Service) *discoveryv1.EndpointSlice {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	var selected []*pod
	for _, p := range k.pods {
		if p.namespace == svc.Namespace && sel.Matches(labels.Set(p.labels)) {
			selected = append(selected, p)
		}
	}
	// Deterministic order: by address.
	for i := range selected {
		for j := i + 1; j < len(selected); j++ {
			if selected[j].ip < selected[i].ip {
				selected[i], selected[j] = selected[j], selected[i]
			}
		}
	}
	ready := true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Name: svc.Name + "-gh", Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name, discoveryv1.LabelManagedBy: managedBy},
		},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for _, p := range selected {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{p.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.namespace, Name: p.name},
		})
	}
	for _, sp := range svc.Spec.Ports {
		port := sp.Port
		switch {
		case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
			port = sp.TargetPort.IntVal
		case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "" && len(selected) > 0:
			port = selected[0].ports[sp.TargetPort.StrVal]
		}
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{
			Name: new(sp.Name), Port: new(port), Protocol: new(sp.Protocol), AppProtocol: sp.AppProtocol,
		})
	}
	return s
}
