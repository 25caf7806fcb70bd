package health

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// prober runs one check of one target. check returns nil when the target
// is healthy and otherwise an error saying why, which becomes the logged
// reason of a transition.
type prober interface {
	check(ctx context.Context, t *balancer.Target) error
	close()
}

// Checker runs active health checks for one upstream's targets: one
// goroutine per target, each probing immediately and then every Interval ±
// Jitter, measured from the end of the previous check so that a slow
// target is never probed by overlapping checks.
type Checker struct {
	reg    *Registry
	cfg    CheckConfig
	prober prober

	mu      sync.Mutex // serialises Update and Stop
	probes  map[*state]*probe
	stopped bool
}

// probe is a running per-target check loop.
type probe struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// NewChecker returns a checker for reg's upstream; it checks nothing until
// Update gives it targets. It fails only on an invalid cfg (see
// CheckConfig.Validate).
func NewChecker(reg *Registry, cfg CheckConfig) (*Checker, error) {
	if reg == nil {
		return nil, errors.New("health: NewChecker needs a Registry")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Checker{reg: reg, cfg: cfg, probes: map[*state]*probe{}}
	switch cfg.Type {
	case CheckTCP:
		c.prober = newTCPProber(cfg)
	case CheckTLS:
		c.prober = newTLSProber(cfg)
	case CheckUDP:
		c.prober = newUDPProber(cfg)
	case CheckGRPC:
		c.prober = newGRPCProber(cfg)
	default:
		c.prober = newHTTPProber(cfg)
	}
	return c, nil
}

// Update sets the targets to check: checking starts at once for new ones
// and stops for removed ones, whose active verdict is then dropped. Kept
// targets (same scheme and address) keep their verdict and their check
// loop. Call it with the pool's targets after every pool update.
func (c *Checker) Update(targets []*balancer.Target) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	states := c.reg.claim(targets, func(s *state) {
		if s.checker != c {
			// Taking over from nothing or from a replaced checker: keep
			// the verdict, restart the streak under this configuration.
			s.checker = c
			s.successes, s.failures = 0, 0
		}
	})
	keep := make(map[*state]bool, len(states))
	for _, s := range states {
		if s != nil {
			keep[s] = true
		}
	}
	var removed []*state
	for s, p := range c.probes {
		if !keep[s] {
			p.stop()
			delete(c.probes, s)
			removed = append(removed, s)
		}
	}
	c.reg.release(removed, c.drop)
	for s := range keep {
		if c.probes[s] == nil {
			c.probes[s] = c.start(s)
		}
	}
}

// Stop ends all checks and waits for them, then drops the checker's
// verdicts (targets it held down return to rotation unless ejected). Safe
// to call more than once.
func (c *Checker) Stop() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	removed := make([]*state, 0, len(c.probes))
	for s, p := range c.probes {
		p.stop()
		removed = append(removed, s)
	}
	clear(c.probes)
	c.reg.release(removed, c.drop)
	c.prober.close()
}

// drop clears this checker's verdict on s (called under s.mu by release).
func (c *Checker) drop(s *state) {
	if s.checker != c {
		return // a newer checker took the target over
	}
	s.checker = nil
	s.successes, s.failures = 0, 0
	if s.activeDown {
		s.activeDown = false
		s.logTransition(slog.LevelInfo, "active health check removed", "no longer checked")
	}
	if s.awaitingCheck {
		// The ejection already expired; with no check left to wait for,
		// the target would otherwise stay out forever.
		s.readmit(s.reg.clock.Now(), "ejection expired; no active check to wait for")
	}
}

func (c *Checker) start(s *state) *probe {
	ctx, cancel := context.WithCancel(context.Background())
	p := &probe{cancel: cancel, done: make(chan struct{})}
	go c.run(ctx, s, p.done)
	return p
}

func (p *probe) stop() {
	p.cancel()
	<-p.done
}

// run is the check loop of one target.
func (c *Checker) run(ctx context.Context, s *state, done chan<- struct{}) {
	defer close(done)
	t := time.NewTimer(0) // the first check runs at once
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		target := s.target
		s.mu.Unlock()
		started := c.reg.clock.Now()
		cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		err := c.prober.check(cctx, target)
		cancel()
		if ctx.Err() != nil {
			return // stopped mid-check: the error is ours, not the target's
		}
		s.recordCheck(c, err, started)
		t.Reset(jittered(c.cfg.Interval, c.cfg.Jitter, rand.Float64()))
	}
}

// jittered spreads interval uniformly over interval × (1 ± frac), r being
// a uniform random number in [0, 1). The floor keeps a jitter of 1 from
// turning into a busy loop.
func jittered(interval time.Duration, frac, r float64) time.Duration {
	d := interval + time.Duration((2*r-1)*frac*float64(interval))
	return max(d, time.Millisecond)
}

// recordCheck folds one check result into the active verdict. started is
// when the check began: only a check that began after an ejection expired
// may readmit the target.
func (s *state) recordCheck(c *Checker, err error, started time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checker != c {
		return // result of a replaced checker, racing its Stop
	}
	if err != nil {
		s.successes = 0
		s.failures++
		if !s.activeDown && s.failures >= c.cfg.UnhealthyThreshold {
			s.activeDown = true
			s.apply()
			s.logTransition(slog.LevelWarn, "target failed active health check", err.Error(),
				"consecutive_failures", s.failures)
		}
		return
	}
	s.failures = 0
	s.successes++
	if s.awaitingCheck && !started.Before(s.expiredAt) {
		s.readmit(s.reg.clock.Now(), "ejection expired and active health check passed")
	}
	if s.activeDown && s.successes >= c.cfg.HealthyThreshold {
		s.activeDown = false
		s.apply()
		s.logTransition(slog.LevelInfo, "target passed active health check", "healthy",
			"consecutive_successes", s.successes)
	}
}
