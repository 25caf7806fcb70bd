package translate

import (
	"net/url"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/filter"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// TargetHeaders compiles the targets' own request header edits, keyed by
// host:port as the pool's targets are (see Targets); nil when no target
// has any.
func TargetHeaders(u *config.Upstream) proxy.TargetHeaders {
	var th proxy.TargetHeaders
	for _, t := range u.Targets {
		if t.RequestHeaders == nil {
			continue
		}
		pu, err := url.Parse(t.URL)
		if err != nil {
			continue // validated by config
		}
		if th == nil {
			th = proxy.TargetHeaders{}
		}
		th[pu.Host] = filter.EditHeaders(literalHeaders(t.RequestHeaders))
	}
	return th
}
