package translate

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/filter"
	"github.com/gatehouse/gatehouse/internal/router"
)

// VersionConfig translates the versioning: section; nil is the zero
// value (the Api-Version header only).
func VersionConfig(vs *config.Versioning) router.VersionConfig {
	if vs == nil {
		return router.VersionConfig{}
	}
	return router.VersionConfig{Header: vs.Header, MediaType: vs.MediaType, Query: vs.Query}
}

// RouterMatches is RouterMatch for a match that may name a version: one
// router match without a version, the alternatives of
// router.VersionMatches with one.
func RouterMatches(m *config.Match, vs *config.Versioning) []router.Match {
	rm := RouterMatch(m)
	if m.Version == "" {
		return []router.Match{rm}
	}
	return router.VersionMatches(VersionConfig(vs), rm, m.Version)
}

// Deprecation translates a deprecation filter; validation has checked the
// times, so a parse error cannot happen here.
func Deprecation(d *config.Deprecation) filter.DeprecationConfig {
	c := filter.DeprecationConfig{Link: d.Link}
	c.Since, _ = time.Parse(time.RFC3339, d.Since)
	if d.Sunset != "" {
		c.Sunset, _ = time.Parse(time.RFC3339, d.Sunset)
	}
	return c
}
