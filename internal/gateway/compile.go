package gateway

import (
	"crypto/tls"
	"log/slog"
	"os"
	"sort"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/entry"
	"github.com/gatehouse/gatehouse/internal/listener"
	"github.com/gatehouse/gatehouse/internal/router"
)

// route is one compiled route: its configuration and what the router
// returns on a match (its chain is built when the plan takes effect).
type route struct {
	cfg *config.Route
	*entry.Route
}

// plan is a compiled configuration before it takes effect. Building a plan
// does everything that can fail (certificates, regexes, TLS files) and
// touches nothing that serves traffic, so a bad reload changes nothing.
type plan struct {
	cfg       *config.Config
	listeners []*listenerPlan
	upstreams map[string]*upstreamPlan
	routes    []*route
}

type listenerPlan struct {
	cfg      *config.Listener
	settings listener.Settings
	certs    *listener.Certificates // nil for plain HTTP
	trusted  listener.TrustedProxies
	router   *router.Router[*entry.Route]
}

type upstreamPlan struct {
	cfg     *config.Upstream
	targets []*balancer.Target
	key     transportKey
}

// compile builds a plan from cfg, reporting every problem it finds with
// the file:line of the element at fault.
func compile(cfg *config.Config) (*plan, error) {
	var errs config.Errors
	p := &plan{cfg: cfg, upstreams: map[string]*upstreamPlan{}}
	for _, u := range cfg.Upstreams {
		up, uerrs := compileUpstream(u)
		p.upstreams[u.Name] = up
		errs = append(errs, uerrs...)
	}
	rules := compileRoutes(cfg, p)
	for _, lc := range cfg.Listeners {
		lp, lerrs := compileListener(lc, rules[lc.Name])
		p.listeners = append(p.listeners, lp)
		errs = append(errs, lerrs...)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool {
			if errs[i].Pos.File != errs[j].Pos.File {
				return errs[i].Pos.File < errs[j].Pos.File
			}
			return errs[i].Pos.Line < errs[j].Pos.Line
		})
		return nil, errs
	}
	return p, nil
}

// compileUpstream checks what can fail in an upstream (balancer, TLS
// files, target addresses, health check) and builds its targets.
func compileUpstream(u *config.Upstream) (*upstreamPlan, config.Errors) {
	var errs config.Errors
	if _, err := balancer.NewWithOptions(u.Balance, nil, balancerOptions(u, []byte("check"))); err != nil {
		errs = append(errs, posErr(u.Pos, "upstream %q: %v", u.Name, err))
	}
	tlsConf, err := upstreamTLS(u)
	if err != nil {
		errs = append(errs, posErr(u.Pos, "upstream %q: tls: %v", u.Name, err))
	}
	ts, err := buildTargets(u)
	if err != nil {
		errs = append(errs, posErr(u.Pos, "upstream %q: %v", u.Name, err))
	}
	if hc := u.HealthCheck; hc != nil {
		if err := checkConfig(hc, tlsConf).Validate(); err != nil {
			errs = append(errs, posErr(hc.Pos, "upstream %q: health_check: %v", u.Name, err))
		}
	}
	return &upstreamPlan{cfg: u, targets: ts, key: newTransportKey(u)}, errs
}

// compileRoutes makes every route's rule and returns the rules by
// listener (a route without listeners is on all of them).
func compileRoutes(cfg *config.Config, p *plan) map[string][]router.Rule[*entry.Route] {
	rulesByListener := map[string][]router.Rule[*entry.Route]{}
	for _, rc := range cfg.Routes {
		rt := &route{cfg: rc, Route: &entry.Route{Name: rc.Name}}
		p.routes = append(p.routes, rt)
		rule := router.Rule[*entry.Route]{Value: rt.Route}
		matches := rc.Matches
		if rc.Match != nil {
			matches = []*config.Match{rc.Match}
		}
		for _, m := range matches {
			rule.Matches = append(rule.Matches, routerMatch(m))
		}
		names := rc.Listeners
		if len(names) == 0 {
			for _, l := range cfg.Listeners {
				names = append(names, l.Name)
			}
		}
		for _, n := range names {
			rulesByListener[n] = append(rulesByListener[n], rule)
		}
	}
	return rulesByListener
}

// compileListener builds one listener's settings, certificates and router.
func compileListener(lc *config.Listener, rules []router.Rule[*entry.Route]) (*listenerPlan, config.Errors) {
	var errs config.Errors
	lp := &listenerPlan{cfg: lc, trusted: listener.NewTrustedProxies(lc.TrustedProxies)}
	lp.settings = listener.Settings{
		Name: lc.Name, Address: lc.Address, TLS: lc.Protocol == "https",
		HTTP2: lc.HTTP2, H2C: lc.H2C,
		ReadHeader: lc.Timeouts.ReadHeader, Read: lc.Timeouts.Read, Write: lc.Timeouts.Write, Idle: lc.Timeouts.Idle,
		MaxHeaderBytes: int(lc.MaxHeaderBytes),
	}
	if lc.TLS != nil {
		errs = append(errs, compileListenerTLS(lc, lp)...)
	}
	r, err := router.New(rules)
	if err != nil {
		errs = append(errs, posErr(lc.Pos, "listener %q: routes: %v", lc.Name, err))
	}
	lp.router = r
	return lp, errs
}

// compileListenerTLS loads a TLS listener's certificates and client CA.
func compileListenerTLS(lc *config.Listener, lp *listenerPlan) config.Errors {
	var errs config.Errors
	lp.settings.MinTLSVersion = tls.VersionTLS12
	if lc.TLS.MinVersion == "1.3" {
		lp.settings.MinTLSVersion = tls.VersionTLS13
	}
	pairs := make([][2]string, len(lc.TLS.Certificates))
	for i, c := range lc.TLS.Certificates {
		pairs[i] = [2]string{c.CertFile, c.KeyFile}
	}
	if ca := lc.TLS.ClientAuth; ca != nil {
		lp.settings.ClientAuth = tls.RequireAndVerifyClientCert
		if ca.Mode == "request" {
			lp.settings.ClientAuth = tls.VerifyClientCertIfGiven
		}
		pem, err := os.ReadFile(ca.CAFile)
		if err != nil {
			errs = append(errs, posErr(ca.Pos, "listener %q: client_auth: %v", lc.Name, err))
		}
		lp.settings.ClientCAPEM = string(pem)
	}
	certs, err := listener.LoadCertificates(pairs)
	if err != nil {
		errs = append(errs, posErr(lc.Pos, "listener %q: %v", lc.Name, err))
	}
	lp.certs = certs
	return errs
}

func routerMatch(m *config.Match) router.Match {
	rm := router.Match{Hosts: m.Hosts, Methods: m.Methods, Path: router.PathMatch{Type: router.PathPrefix, Value: "/"}}
	if pm := m.Path; pm != nil {
		switch {
		case pm.Exact != "":
			rm.Path = router.PathMatch{Type: router.PathExact, Value: pm.Exact}
		case pm.Template != "":
			rm.Path = router.PathMatch{Type: router.PathTemplate, Value: pm.Template}
		case pm.Regex != "":
			rm.Path = router.PathMatch{Type: router.PathRegex, Value: pm.Regex}
		case pm.Prefix != "":
			rm.Path = router.PathMatch{Type: router.PathPrefix, Value: pm.Prefix}
		}
	}
	rm.Headers = valueMatches(m.Headers)
	rm.Query = valueMatches(m.Query)
	return rm
}

func valueMatches(vs []*config.ValueMatch) []router.ValueMatch {
	out := make([]router.ValueMatch, 0, len(vs))
	for _, v := range vs {
		switch {
		case v.Present:
			out = append(out, router.ValueMatch{Name: v.Name, Type: router.ValuePresent})
		case v.Regex != "":
			out = append(out, router.ValueMatch{Name: v.Name, Type: router.ValueRegex, Value: v.Regex})
		default:
			out = append(out, router.ValueMatch{Name: v.Name, Type: router.ValueExact, Value: v.Value})
		}
	}
	return out
}

// Check compiles cfg without starting anything: what `gatehouse validate`
// runs after the config package's own checks (certificates, TLS files,
// algorithms, route tables).
func Check(cfg *config.Config) error {
	if _, err := compile(cfg); err != nil {
		return err
	}
	g := New("", slog.New(slog.DiscardHandler))
	ps, err := g.buildPolicies(cfg, false)
	if err != nil {
		return err
	}
	ps.discard(g)
	return nil
}
