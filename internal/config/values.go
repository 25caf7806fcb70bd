package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Scalar parsers. Each takes the value after ${ENV} substitution and the
// YAML key (for the message); YAML's own typing is ignored on purpose so
// that "port: ${PORT}" and quoted numbers behave like plain ones.

func parseBool(s, key string) (bool, *problem) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	// yes/no/on/off are YAML 1.1 booleans that other tools read
	// differently; refusing them avoids a silent disagreement.
	return false, newProblem("use true or false", "invalid boolean %q for %s", s, key)
}

func parseInt(s, key string) (int64, *problem) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, nil
	}
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return 0, newProblem("", "number %s for %s is out of range", s, key)
	}
	return 0, newProblem("use a decimal integer such as 10", "invalid integer %q for %s", s, key)
}

// parseFloat reads a finite decimal number (1, 0.5, 1e-3).
func parseFloat(s, key string) (float64, *problem) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, newProblem("use a decimal number such as 0.5", "invalid number %q for %s", s, key)
	}
	return f, nil
}

func parseDuration(s, key string) (time.Duration, *problem) {
	const hint = "use Go syntax such as 5s or 250ms"
	if s == "0" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, newProblem("add a unit, e.g. "+s+"s or "+s+"ms", "duration %s for %s has no unit", s, key)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, newProblem(hint, "invalid duration %q for %s", s, key)
	}
	if d < 0 {
		return 0, newProblem("use 0 to disable it", "negative duration %s for %s", s, key)
	}
	return d, nil
}

// sizeUnits are checked longest suffix first so "KiB" is not read as "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

func parseSize(s, key string) (int64, *problem) {
	const hint = "use bytes or a unit such as 64KiB, 1MiB, 512KB"
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, newProblem(hint, "invalid size %q for %s", s, key)
	}
	if n > math.MaxInt64/mult {
		return 0, newProblem("", "size %s for %s is out of range", s, key)
	}
	return n * mult, nil
}

// parsePrefix accepts a CIDR or a bare address; the bare address means
// exactly that host, which is what people mean when they list a proxy IP.
func parsePrefix(s, key string) (netip.Prefix, *problem) {
	const hint = "use a CIDR such as 10.0.0.0/8 or an address such as 192.0.2.1"
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, newProblem(hint, "invalid CIDR %q in %s", s, key)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, newProblem(hint, "invalid IP address %q in %s", s, key)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
