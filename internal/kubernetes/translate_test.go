package kubernetes

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestArticle translates the two manifests of the motivating article (an
// Ingress for myapp.com and a v1beta1 HTTPRoute with a header filter and
// no backendRefs) plus a Gateway, and loads the result with config.Parse.
func TestArticle(t *testing.T) {
	res := Translate(load(t, "article.yaml"), Options{SecretDir: t.TempDir()})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	cfg := parse(t, res)

	if len(cfg.Listeners) != 1 || cfg.Listeners[0].Name != "http-80" || cfg.Listeners[0].Address != ":80" || cfg.Listeners[0].Protocol != "http" {
		t.Fatalf("listeners: %+v", cfg.Listeners[0])
	}
	// HTTPRoute rule without backendRefs: the Gateway API requires a 500,
	// and the header filter is kept.
	r := findRoute(t, cfg, "httproute_default_my-route_0")
	if r.Respond == nil || r.Respond.Status != 500 || r.Backend != nil {
		t.Errorf("no-backend rule: respond %+v backend %+v, want respond 500", r.Respond, r.Backend)
	}
	if r.Matches[0].Path.Prefix != "/v1/data" || r.Matches[0].Hosts != nil {
		t.Errorf("match: %+v", r.Matches[0])
	}
	if len(r.Filters) != 1 || r.Filters[0].RequestHeaders.Add["X-API-Key"] != "secret-key" {
		t.Errorf("filters: %+v", r.Filters[0].RequestHeaders)
	}
	if !slices.Equal(r.Listeners, []string{"http-80"}) {
		t.Errorf("route listeners %v", r.Listeners)
	}
	wantCond(t, res, "HTTPRoute", "default", "my-route", "Gateway default/my-gateway", "Accepted", "True", "Accepted")
	wantCond(t, res, "HTTPRoute", "default", "my-route", "", "ResolvedRefs", "True", "ResolvedRefs")
	wantCond(t, res, "Gateway", "default", "my-gateway", "", "Accepted", "True", "Accepted")
	wantCond(t, res, "Gateway", "default", "my-gateway", "", "Programmed", "True", "Programmed")
	wantCond(t, res, "Gateway", "default", "my-gateway", "http", "Programmed", "True", "Programmed")

	// Ingress: no EndpointSlice, so the target is the cluster DNS name on
	// the Service port.
	ir := findRoute(t, cfg, "ingress_default_my-ingress_0_0")
	if ir.Match.Hosts[0] != "myapp.com" || ir.Match.Path.Prefix != "/" || ir.Backend.Upstream != "svc_default_my-service_80" {
		t.Errorf("ingress route: %+v %+v %+v", ir.Match, ir.Match.Path, ir.Backend)
	}
	u := findUpstream(t, cfg, "svc_default_my-service_80")
	if len(u.Targets) != 1 || u.Targets[0].URL != "http://my-service.default.svc:80" {
		t.Errorf("ingress upstream targets: %+v", u.Targets[0])
	}
}

func fullRepl(t *testing.T) []string {
	crt, key := selfSigned(t, "www.example.com")
	crt2, key2 := selfSigned(t, "other.example.com")
	return []string{
		"tls.crt: CERT\n  tls.key: KEY\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: apps-cert",
		"tls.crt: " + indentPEM(crt, "    ") + "\n  tls.key: " + indentPEM(key, "    ") + "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: apps-cert",
		"tls.crt: CERT\n  tls.key: KEY\n---\napiVersion: gateway",
		"tls.crt: " + indentPEM(crt2, "    ") + "\n  tls.key: " + indentPEM(key2, "    ") + "\n---\napiVersion: gateway",
	}
}

// TestFull covers every listener protocol, match, filter, weighted and
// cross-namespace backends, and the statuses, and loads the result.
func TestFull(t *testing.T) {
	dir := t.TempDir()
	res := Translate(load(t, "full.yaml", fullRepl(t)...), Options{SecretDir: dir, ListenHost: "127.0.0.1"})
	cfg := parse(t, res)

	// Listeners: one Gatehouse listener per port; the https one carries
	// only the local certificate: other-cert's Secret is in another
	// namespace without a ReferenceGrant.
	names := []string{}
	for _, l := range cfg.Listeners {
		names = append(names, l.Name+"="+l.Protocol+"@"+l.Address)
	}
	want := []string{"http-8080=http@127.0.0.1:8080", "https-8443=https@127.0.0.1:8443", "tcp-5432=tcp@127.0.0.1:5432", "udp-5353=udp@127.0.0.1:5353"}
	if !slices.Equal(names, want) {
		t.Errorf("listeners %v, want %v", names, want)
	}
	if n := len(cfg.Listeners[1].TLS.Certificates); n != 1 {
		t.Errorf("https certificates: %d, want 1 (the cross-namespace one is not granted)", n)
	}
	if !strings.HasPrefix(cfg.Listeners[1].TLS.Certificates[0].CertFile, dir) {
		t.Errorf("cert file %s not under SecretDir", cfg.Listeners[1].TLS.Certificates[0].CertFile)
	}
	wantCond(t, res, "Gateway", "infra", "gw", "other-cert", "ResolvedRefs", "False", "RefNotPermitted")
	wantCond(t, res, "Gateway", "infra", "gw", "secure", "ResolvedRefs", "True", "ResolvedRefs")
	wantCond(t, res, "Gateway", "infra", "gw", "", "Accepted", "True", "ListenersNotValid") // one listener is invalid
	wantCond(t, res, "GatewayClass", "", "gatehouse", "", "Accepted", "True", "Accepted")

	// Rule 0 on the web listener (*.example.com) keeps only
	// shop.example.com; on the https listener (no hostname) both names.
	web := findRoute(t, cfg, "httproute_apps_shop_0_g0")
	sec := findRoute(t, cfg, "httproute_apps_shop_0_g1")
	if !slices.Equal(web.Listeners, []string{"http-8080"}) || !slices.Equal(web.Matches[0].Hosts, []string{"shop.example.com"}) {
		t.Errorf("web attachment: %v %v", web.Listeners, web.Matches[0].Hosts)
	}
	if !slices.Equal(sec.Listeners, []string{"https-8443"}) || len(sec.Matches[0].Hosts) != 2 {
		t.Errorf("https attachment: %v %v", sec.Listeners, sec.Matches[0].Hosts)
	}
	m := web.Matches[0]
	if m.Path.Exact != "/cart" || !slices.Equal(m.Methods, []string{"POST"}) || len(m.Headers) != 2 ||
		m.Headers[0].Value != "prod" || m.Headers[1].Regex != "v[0-9]+" || m.Query[0].Name != "debug" || m.Query[0].Value != "1" {
		t.Errorf("match 0: %+v headers %+v query %+v", m, m.Headers, m.Query)
	}
	if web.Matches[1].Path.Regex != "/items/[0-9]+" {
		t.Errorf("match 1: %+v", web.Matches[1].Path)
	}
	if web.Timeout != 5*time.Second {
		t.Errorf("timeout %v", web.Timeout)
	}
	// Weighted backends: shop (weight 3 over 2 ready endpoints, the
	// not-ready one skipped) and the granted legacy (weight 1); the
	// missing Service adds nothing.
	u := findUpstream(t, cfg, "httproute_apps_shop_0")
	got := map[string]int{}
	for _, tg := range u.Targets {
		got[tg.URL] = tg.Weight
	}
	wantW := map[string]int{"http://10.0.0.1:8080": 10000, "http://10.0.0.2:8080": 10000, "http://legacy.old.svc:80": 6667}
	if !maps.Equal(got, wantW) || u.Balance != "weighted_round_robin" {
		t.Errorf("targets %v (%s), want %v", got, u.Balance, wantW)
	}
	wantCond(t, res, "HTTPRoute", "apps", "shop", "", "ResolvedRefs", "False", "RefNotPermitted")

	rw := findRoute(t, cfg, "httproute_apps_shop_1_g0")
	if f := rw.Filters[0].URLRewrite; f.Hostname != "api.internal" || f.Path.ReplacePrefixMatch != "/v2" {
		t.Errorf("rewrite %+v", f)
	}
	if f := rw.Filters[1].ResponseHeaders; f.Set["X-Frame-Options"] != "DENY" || f.Remove[0] != "Server" {
		t.Errorf("response headers %+v", f)
	}
	rd := findRoute(t, cfg, "httproute_apps_shop_2_g0").Redirect
	if rd == nil || *rd != (config.Redirect{Pos: rd.Pos, Scheme: "https", Host: "new.example.com", Path: "/new", Status: 301}) {
		t.Errorf("redirect %+v", rd)
	}
	// ExternalAuth is not supported: the rule is dropped and reported.
	for _, r := range cfg.Routes {
		if strings.HasPrefix(r.Name, "httproute_apps_shop_3") {
			t.Errorf("unsupported rule translated: %s", r.Name)
		}
	}
	wantCond(t, res, "HTTPRoute", "apps", "shop", "", "PartiallyInvalid", "True", "UnsupportedValue")
	// A rule whose only backend is not permitted answers 500.
	if r := findRoute(t, cfg, "httproute_apps_shop_4_g0"); r.Respond == nil || r.Respond.Status != 500 {
		t.Errorf("forbidden-only rule: %+v", r.Respond)
	}
	wantCond(t, res, "HTTPRoute", "apps", "stray", "Gateway apps/nowhere", "Accepted", "False", "NoMatchingParent")

	// L4: TLS passthrough shares the https port by SNI; TCP and UDP.
	l4 := map[string]string{}
	for _, r := range cfg.L4Routes {
		sni := ""
		if r.Match != nil {
			sni = strings.Join(r.Match.SNI, ",")
		}
		l4[r.Name] = strings.Join(r.Listeners, ",") + "|" + sni + "|" + r.Upstream
	}
	wantL4 := map[string]string{
		"tlsroute_apps_db-tls": "https-8443|db.example.com|tlsroute_apps_db-tls",
		"tcproute_apps_pg":     "tcp-5432||tcproute_apps_pg",
		"udproute_apps_dns":    "udp-5353||udproute_apps_dns",
	}
	if !maps.Equal(l4, wantL4) {
		t.Errorf("l4 routes %v, want %v", l4, wantL4)
	}
	if u := findUpstream(t, cfg, "udproute_apps_dns"); u.Targets[0].URL != "udp://dns.apps.svc:53" {
		t.Errorf("udp target %s", u.Targets[0].URL)
	}
}

// TestRouteNotAllowed: a route from another namespace on a Same listener
// is NotAllowedByListeners; a hostname outside the listener's is
// NoMatchingListenerHostname.
func TestRouteNotAllowed(t *testing.T) {
	const m = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: x
  listeners:
  - {name: web, protocol: HTTP, port: 80, hostname: "*.example.com"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other-ns, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: wrong-host, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  hostnames: [example.org]
`
	objs, err := Decode("m.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	wantCond(t, res, "HTTPRoute", "apps", "other-ns", "Gateway infra/gw", "Accepted", "False", "NotAllowedByListeners")
	wantCond(t, res, "HTTPRoute", "infra", "wrong-host", "Gateway infra/gw", "Accepted", "False", "NoMatchingListenerHostname")
	if len(res.Config.Routes) != 0 {
		t.Errorf("routes %v", res.Config.Routes)
	}
}

// TestClassFilter: a Gateway of another controller's class and an
// Ingress of another class are left alone.
func TestClassFilter(t *testing.T) {
	const m = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: theirs}
spec: {controllerName: example.net/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: theirs
  listeners: [{name: web, protocol: HTTP, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nginx-one}
spec:
  ingressClassName: nginx
  defaultBackend: {service: {name: s, port: {number: 80}}}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: mine}
spec: {controller: gatehouse.dev/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: mine}
spec:
  ingressClassName: mine
  defaultBackend: {service: {name: s, port: {name: web}}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{name: web, port: 80}]
`
	objs, err := Decode("m.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	if _, ok := res.Find("Gateway", "default", "gw", ""); ok {
		t.Error("Gateway of another class got a status")
	}
	if len(res.Config.Routes) != 1 || res.Config.Routes[0].Name != "ingress_default_mine_default" {
		t.Fatalf("routes %+v", res.Config.Routes)
	}
	if res.Config.Routes[0].Backend.Upstream != "svc_default_s_web" {
		t.Errorf("upstream %s", res.Config.Routes[0].Backend.Upstream)
	}
	parse(t, res)
}

// TestDeterministic: document order does not change the output.
func TestDeterministic(t *testing.T) {
	repl := fullRepl(t)
	objs := load(t, "full.yaml", repl...)
	dir := t.TempDir()
	a, _ := Encode(Translate(objs, Options{SecretDir: dir}).Config)
	slices.Reverse(objs)
	b, _ := Encode(Translate(objs, Options{SecretDir: dir}).Config)
	if string(a) != string(b) {
		t.Errorf("output depends on object order:\n%s\n---\n%s", a, b)
	}
}

func TestSecretFilesPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s")
	res := Translate(load(t, "full.yaml", fullRepl(t)...), Options{SecretDir: dir})
	if err := res.WriteFiles(); err != nil {
		t.Fatal(err)
	}
	for p := range res.Files {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", p, st, err)
		}
	}
}
