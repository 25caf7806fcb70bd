package health

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// Outlier is passive outlier detection for one upstream: the proxy reports
// the outcome of every attempt, and a target that fails
// ConsecutiveFailures times in a row is ejected — taken out of rotation —
// for BaseEjection × (times ejected), capped at MaxEjection. When the
// ejection expires the target returns, unless the upstream also has an
// active Checker: then it stays out until an active check that started
// after the expiry passes, so a target that is still broken is not handed
// live traffic to find out.
type Outlier struct {
	reg       *Registry
	cfg       OutlierConfig
	threshold int64 // cfg.ConsecutiveFailures; ≤ 0 disables ejection

	// entries is what Report reads: an immutable map swapped by Update, so
	// the request path takes no lock and allocates nothing.
	entries atomic.Pointer[map[*balancer.Target]*outlierEntry]

	// mu serialises Update, Stop and ejection decisions, which must count
	// the ejected targets and eject as one step to respect the cap.
	mu      sync.Mutex
	states  []*state // distinct states of the current targets
	byState map[*state]*outlierEntry
	stopped bool
}

// outlierEntry is the per-target hot-path counter. The padding gives each
// entry its own cache line (64-byte objects are 64-byte aligned), so
// reports for different targets do not contend on one line.
type outlierEntry struct {
	consecutive atomic.Int64
	s           *state
	_           [48]byte
}

// NewOutlier returns outlier detection for reg's upstream; it watches
// nothing until Update gives it targets. It fails only on an invalid cfg
// (see OutlierConfig.Validate).
func NewOutlier(reg *Registry, cfg OutlierConfig) (*Outlier, error) {
	if reg == nil {
		return nil, errors.New("health: NewOutlier needs a Registry")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	o := &Outlier{reg: reg, cfg: cfg, threshold: int64(cfg.ConsecutiveFailures), byState: map[*state]*outlierEntry{}}
	empty := map[*balancer.Target]*outlierEntry{}
	o.entries.Store(&empty)
	return o, nil
}

// Report records the outcome of one attempt on t: failed is a connect
// error, a reset or a 5xx. The proxy calls it after every attempt; it is
// lock-free and allocation-free unless it ejects t. Reports for targets the
// Outlier does not watch (including before the first Update) are ignored.
func (o *Outlier) Report(t *balancer.Target, failed bool) {
	if o == nil {
		return
	}
	e := (*o.entries.Load())[t]
	if e == nil {
		return
	}
	if !failed {
		// Read before writing: the common case is already zero, and a
		// store would bounce the cache line between cores for nothing.
		if e.consecutive.Load() != 0 {
			e.consecutive.Store(0)
		}
		return
	}
	// Only the report that reaches the threshold exactly takes the slow
	// path; eject resets the counter whatever it decides.
	if o.threshold > 0 && e.consecutive.Add(1) == o.threshold {
		o.eject(e)
	}
}

// Update sets the targets to watch. Kept targets (same scheme and address)
// keep their failure streak and ejection state; removed ones lose their
// ejection. Call it with the pool's targets after every pool update.
func (o *Outlier) Update(targets []*balancer.Target) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return
	}
	states := o.reg.claim(targets, func(s *state) { s.outlier = o })
	entries := make(map[*balancer.Target]*outlierEntry, len(targets))
	byState := make(map[*state]*outlierEntry, len(targets))
	distinct := make([]*state, 0, len(states))
	for i, s := range states {
		if s == nil {
			continue
		}
		e := byState[s]
		if e == nil {
			if e = o.byState[s]; e == nil {
				e = &outlierEntry{s: s}
			}
			byState[s] = e
			distinct = append(distinct, s)
		}
		entries[targets[i]] = e
	}
	var removed []*state
	for s := range o.byState {
		if byState[s] == nil {
			removed = append(removed, s)
		}
	}
	o.states, o.byState = distinct, byState
	o.entries.Store(&entries)
	o.reg.release(removed, o.drop)
}

// Stop ends outlier detection: pending ejections are lifted and later
// reports are ignored. Safe to call more than once.
func (o *Outlier) Stop() {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return
	}
	o.stopped = true
	empty := map[*balancer.Target]*outlierEntry{}
	o.entries.Store(&empty)
	o.reg.release(o.states, o.drop)
	o.states, o.byState = nil, nil
}

// drop clears this outlier's verdict on s (called under s.mu by release).
func (o *Outlier) drop(s *state) {
	if s.outlier != o {
		return // a newer Outlier took the target over
	}
	s.outlier = nil
	if s.ejected {
		s.readmit(s.reg.clock.Now(), "outlier detection removed")
	}
}

// eject takes e's target out of rotation unless it already is or the
// upstream's ejection cap is reached.
func (o *Outlier) eject(e *outlierEntry) {
	defer e.consecutive.Store(0) // a capped target retries after another full streak
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return
	}
	s := e.s
	ejected := 0
	for _, x := range o.states {
		if x != s {
			x.mu.Lock()
			if x.ejected {
				ejected++
			}
			x.mu.Unlock()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outlier != o || s.ejected {
		return
	}
	// The first ejection is always allowed (as in Envoy), so a small
	// upstream whose share rounds down to zero can still shed a bad
	// target; further ones must keep the ejected share within the cap.
	if ejected > 0 && (ejected+1)*100 > o.cfg.MaxEjectedPercent*len(o.states) {
		o.reg.metrics.ejectionOverflow(o.reg.upstream)
		return
	}
	now := o.reg.clock.Now()
	if !s.readmittedAt.IsZero() && s.ejections > 0 {
		// Every base period spent back in rotation forgives one past
		// ejection, so a target that failed once last week is not
		// punished with the maximum today.
		forgiven := int(min(now.Sub(s.readmittedAt)/o.cfg.BaseEjection, time.Duration(s.ejections)))
		s.ejections -= forgiven
	}
	s.ejections++
	d := o.ejectionTime(s.ejections)
	s.ejected, s.awaitingCheck = true, false
	s.ejectGen++
	gen := s.ejectGen
	s.ejectTimer = o.reg.clock.AfterFunc(d, func() { s.expire(gen) })
	s.apply()
	o.reg.metrics.ejected(o.reg.upstream, s.label)
	s.logTransition(slog.LevelWarn, "target ejected by outlier detection",
		fmt.Sprintf("%d consecutive failed requests", o.threshold),
		"ejection", d, "ejections", s.ejections)
}

// ejectionTime is base × n, capped, without overflowing for large n.
func (o *Outlier) ejectionTime(n int) time.Duration {
	if time.Duration(n) > o.cfg.MaxEjection/o.cfg.BaseEjection {
		return o.cfg.MaxEjection
	}
	return min(o.cfg.BaseEjection*time.Duration(n), o.cfg.MaxEjection)
}

// expire ends ejection number gen: readmits the target, or — when an
// active check watches it — leaves it out until a check passes.
func (s *state) expire(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ejected || s.awaitingCheck || s.ejectGen != gen {
		return // lifted or superseded meanwhile
	}
	s.ejectTimer = nil
	now := s.reg.clock.Now()
	if s.checker != nil {
		s.awaitingCheck, s.expiredAt = true, now
		s.logTransition(slog.LevelInfo, "outlier ejection expired; waiting for an active health check", "ejection expired")
		return
	}
	s.readmit(now, "ejection expired")
}

// readmit ends the ejection of s now (under s.mu).
func (s *state) readmit(now time.Time, reason string) {
	if s.ejectTimer != nil {
		s.ejectTimer.Stop()
		s.ejectTimer = nil
	}
	s.ejectGen++
	s.ejected, s.awaitingCheck = false, false
	s.readmittedAt = now
	s.apply()
	s.logTransition(slog.LevelInfo, "target readmitted after outlier ejection", reason)
}
