package gateway

import (
	"fmt"
	"log/slog"
	"sort"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/entry"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
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
	listeners []*listenerPlan // http and https
	l4        []*l4Plan       // tcp, tls and udp
	upstreams map[string]*upstreamPlan
	routes    []*route
}

type listenerPlan struct {
	cfg      *config.Listener
	settings listener.Settings
	certs    *listener.Certificates // nil for plain HTTP
	trusted  listener.TrustedProxies
	router   *router.Router[*entry.Route]
	// passthrough are the L4 routes of an https listener: matching TLS
	// connections are passed through by SNI, the rest served as HTTP.
	passthrough []*config.L4Route
	// mixKey is what needs a new passthrough front to change ("" without
	// one): the front reads PROXY headers, so the HTTP server does not.
	mixKey string
}

type upstreamPlan struct {
	cfg     *config.Upstream
	targets []*balancer.Target
	key     translate.TransportKey
}

// posErr is a configuration error at p.
func posErr(p config.Pos, format string, args ...any) *config.Error {
	return &config.Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
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
	l4Routes := translate.L4RoutesByListener(cfg)
	for _, lc := range cfg.Listeners {
		if translate.IsL4Listener(lc) {
			lp, lerrs := compileL4Listener(lc, l4Routes[lc.Name], cfg.AccessLog.Enabled)
			p.l4 = append(p.l4, lp)
			errs = append(errs, lerrs...)
			continue
		}
		lp, lerrs := compileListener(lc, rules[lc.Name])
		if lp.passthrough = l4Routes[lc.Name]; len(lp.passthrough) > 0 {
			lp.mixKey = fmt.Sprintf("mixed %+v log=%v", lp.settings.ProxyProtocol, cfg.AccessLog.Enabled)
			lp.settings.ProxyProtocol = listener.ProxyAccept{}
		}
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
	if _, err := balancer.NewWithOptions(u.Balance, nil, translate.BalancerOptions(u, []byte("check"))); err != nil {
		errs = append(errs, posErr(u.Pos, "upstream %q: %v", u.Name, err))
	}
	tlsConf, err := translate.UpstreamTLS(u)
	if err != nil {
		errs = append(errs, posErr(u.Pos, "upstream %q: tls: %v", u.Name, err))
	}
	ts, err := translate.Targets(u)
	if err != nil {
		errs = append(errs, posErr(u.Pos, "upstream %q: %v", u.Name, err))
	}
	if hc := u.HealthCheck; hc != nil {
		if err := translate.HealthCheck(hc, tlsConf).Validate(); err != nil {
			errs = append(errs, posErr(hc.Pos, "upstream %q: health_check: %v", u.Name, err))
		}
	}
	return &upstreamPlan{cfg: u, targets: ts, key: translate.NewTransportKey(u)}, errs
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
			rule.Matches = append(rule.Matches, translate.RouterMatches(m, cfg.Versioning)...)
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
	l, errs := translate.Listener(lc)
	lp := &listenerPlan{cfg: lc, settings: l.Settings, certs: l.Certs, trusted: l.Trusted}
	r, err := router.New(rules)
	if err != nil {
		errs = append(errs, posErr(lc.Pos, "listener %q: routes: %v", lc.Name, err))
	}
	lp.router = r
	return lp, errs
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
