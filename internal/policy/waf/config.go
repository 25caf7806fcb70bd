package waf

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
)

// Modes of a WAF.
const (
	// ModeBlock answers requests the rules reject with 403.
	ModeBlock = "block"
	// ModeDetect only logs requests the rules would reject.
	ModeDetect = "detect"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultParanoiaLevel    = 1
	DefaultAnomalyThreshold = 5
	DefaultRequestBodyLimit = 128 << 10
)

// maxRequestBodyLimit is Coraza's hard limit for SecRequestBodyLimit.
const maxRequestBodyLimit = 1 << 30

// truncatedBodyRuleID is the id of the rule Gatehouse adds so that a body
// cut at RequestBodyLimit does not fail as unparsable (see package doc). It
// is in the range ModSecurity reserves for local rules.
const truncatedBodyRuleID = 10001

// Config configures a WAF.
type Config struct {
	// Mode is ModeBlock (default) or ModeDetect (log only, never interrupt).
	Mode string
	// ParanoiaLevel is the CRS blocking paranoia level, 1..4 (default 1).
	// Higher levels catch more attacks and raise more false positives.
	ParanoiaLevel int
	// AnomalyThreshold is the CRS inbound anomaly score at which a request
	// is rejected (default 5: one critical match).
	AnomalyThreshold int
	// ExcludeRules are rule ids removed from the rule set (SecRuleRemoveById).
	ExcludeRules []int
	// Directives are extra SecLang directives applied after the CRS, for
	// advanced tuning (e.g. SecRuleUpdateTargetById).
	Directives string
	// RequestBodyLimit is how many body bytes are buffered and inspected
	// (default 128 KiB, at most 1 GiB). Longer bodies are inspected partially
	// and forwarded in full.
	RequestBodyLimit int64
	// Logger receives one line per blocked or detected request. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// normalize validates cfg and returns it with defaults filled in and
// ExcludeRules sorted and deduplicated.
func (cfg Config) normalize() (Config, error) {
	switch cfg.Mode {
	case "":
		cfg.Mode = ModeBlock
	case ModeBlock, ModeDetect:
	default:
		return cfg, fmt.Errorf("waf: mode %q: want %q or %q", cfg.Mode, ModeBlock, ModeDetect)
	}
	switch {
	case cfg.ParanoiaLevel == 0:
		cfg.ParanoiaLevel = DefaultParanoiaLevel
	case cfg.ParanoiaLevel < 1 || cfg.ParanoiaLevel > 4:
		return cfg, fmt.Errorf("waf: paranoia level %d: want 1 to 4", cfg.ParanoiaLevel)
	}
	switch {
	case cfg.AnomalyThreshold == 0:
		cfg.AnomalyThreshold = DefaultAnomalyThreshold
	case cfg.AnomalyThreshold < 0:
		return cfg, fmt.Errorf("waf: anomaly threshold %d: want a positive score", cfg.AnomalyThreshold)
	}
	switch {
	case cfg.RequestBodyLimit == 0:
		cfg.RequestBodyLimit = DefaultRequestBodyLimit
	case cfg.RequestBodyLimit < 0 || cfg.RequestBodyLimit > maxRequestBodyLimit:
		return cfg, fmt.Errorf("waf: request body limit %d: want 1 to %d bytes", cfg.RequestBodyLimit, maxRequestBodyLimit)
	}
	ids := slices.Clone(cfg.ExcludeRules)
	for _, id := range ids {
		if id <= 0 {
			return cfg, fmt.Errorf("waf: exclude rule id %d: want a positive id", id)
		}
	}
	slices.Sort(ids)
	cfg.ExcludeRules = slices.Compact(ids)
	if strings.ContainsRune(cfg.Directives, 0) {
		return cfg, fmt.Errorf("waf: directives contain a NUL byte")
	}
	return cfg, nil
}

// directives renders a normalized cfg as SecLang. The text is the cache key
// of the engine, so it depends only on what changes the rules.
func (cfg Config) directives() string {
	var b strings.Builder
	b.Grow(1024 + len(cfg.Directives))
	// Defined before everything else so it runs before rule 200002 in
	// phase 2: a body cut at the limit cannot parse as JSON or XML, and
	// rejecting every long body would make the limit a size cap.
	fmt.Fprintf(&b, "SecRule INBOUND_DATA_ERROR \"@eq 1\" \"id:%d,phase:2,pass,nolog,t:none,ctl:ruleRemoveById=200002\"\n", truncatedBodyRuleID)
	b.WriteString("Include @coraza.conf-recommended\n")
	// Mode is applied by the middleware, not the engine (see package doc).
	b.WriteString("SecRuleEngine On\n")
	b.WriteString("SecRequestBodyAccess On\n")
	limit := strconv.FormatInt(cfg.RequestBodyLimit, 10)
	b.WriteString("SecRequestBodyLimit " + limit + "\n")
	// Equal to the limit, so Coraza never spills a body to a temp file.
	b.WriteString("SecRequestBodyInMemoryLimit " + limit + "\n")
	b.WriteString("SecRequestBodyLimitAction ProcessPartial\n")
	b.WriteString("SecResponseBodyAccess Off\n")
	// The middleware writes its own audit line through slog.
	b.WriteString("SecAuditEngine Off\n")
	b.WriteString("Include @crs-setup.conf.example\n")
	fmt.Fprintf(&b, "SecAction \"id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d\"\n", cfg.ParanoiaLevel)
	fmt.Fprintf(&b, "SecAction \"id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%d,setvar:tx.outbound_anomaly_score_threshold=4\"\n", cfg.AnomalyThreshold)
	b.WriteString("Include @owasp_crs/*.conf\n")
	for _, id := range cfg.ExcludeRules {
		b.WriteString("SecRuleRemoveById " + strconv.Itoa(id) + "\n")
	}
	if cfg.Directives != "" {
		b.WriteString(cfg.Directives)
		b.WriteString("\n")
	}
	return b.String()
}
