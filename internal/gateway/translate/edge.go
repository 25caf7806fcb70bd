package translate

import (
	"github.com/gatehouse/gatehouse/internal/policy/cors"
	"github.com/gatehouse/gatehouse/internal/policy/ipfilter"
	"github.com/gatehouse/gatehouse/internal/policy/limits"
	"github.com/gatehouse/gatehouse/internal/policy/waf"
)

// The edge policies' builders: each translates its config section into
// its package's Config (see policyOrder).

func buildIPFilter(b *routeBuild) (layer, error) {
	f := b.p.IPFilter
	if f == nil {
		return nil, nil
	}
	flt, err := ipfilter.New(ipfilter.Config{Allow: f.Allow, Deny: f.Deny})
	if err != nil {
		return nil, policyErr(f.Pos, "ip_filter", err)
	}
	return flt.Wrap, nil
}

func buildRequestLimits(b *routeBuild) (layer, error) {
	l := b.p.RequestLimits
	if l == nil {
		return nil, nil
	}
	lim, err := limits.New(limits.Config{MaxBodyBytes: l.MaxBodyBytes, MaxHeaderCount: l.MaxHeaderCount, MaxHeaderBytes: l.MaxHeaderBytes})
	if err != nil {
		return nil, policyErr(l.Pos, "request_limits", err)
	}
	return lim.Wrap, nil
}

func buildCORS(b *routeBuild) (layer, error) {
	c := b.p.CORS
	if c == nil {
		return nil, nil
	}
	cc, err := cors.New(cors.Config{
		AllowOrigins: c.AllowOrigins, AllowOriginRegex: c.AllowOriginRegex, AllowMethods: c.AllowMethods,
		AllowHeaders: c.AllowHeaders, ExposeHeaders: c.ExposeHeaders, AllowCredentials: c.AllowCredentials,
		MaxAge: c.MaxAge, AllowPrivateNetwork: c.AllowPrivateNetwork,
	})
	if err != nil {
		return nil, policyErr(c.Pos, "cors", err)
	}
	return cc.Wrap, nil
}

func buildWAF(b *routeBuild) (layer, error) {
	w := b.p.WAF
	if w == nil {
		return nil, nil
	}
	wf, err := waf.New(waf.Config{
		Mode: w.Mode, ParanoiaLevel: w.ParanoiaLevel, AnomalyThreshold: w.AnomalyThreshold,
		ExcludeRules: w.ExcludeRules, Directives: w.Directives, RequestBodyLimit: w.RequestBodyLimit,
		Logger: b.env.Log,
	})
	if err != nil {
		return nil, policyErr(w.Pos, "waf", err)
	}
	return wf.Wrap, nil
}
