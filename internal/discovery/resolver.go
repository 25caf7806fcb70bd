package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"
)

const (
	// DefaultInterval is used when New is given an interval <= 0.
	DefaultInterval = 30 * time.Second
	// maxLookupTimeout caps one DNS lookup, like the resolv.conf default.
	maxLookupTimeout = 5 * time.Second
	// minLookupTimeout keeps a short interval from turning a slow but
	// working DNS server into a failing one; rounds never overlap, so a
	// lookup longer than the interval only delays the next round.
	minLookupTimeout = time.Second
)

// Resolver re-resolves specs every interval (±10% jitter, so many gateway
// instances do not query in lockstep) and calls OnChange with the full,
// sorted endpoint list whenever it differs from the last one.
type Resolver struct {
	specs         []Spec
	interval      time.Duration
	lookupTimeout time.Duration
	dns           *net.Resolver
	onChange      func([]Endpoint)
	log           *slog.Logger

	// afterRound, when set (by tests, before Start), runs after every
	// round of the background loop.
	afterRound func()

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
	current []endpoint // merged, sorted, de-duplicated

	// Owned by whoever runs rounds: Start, then the loop goroutine.
	last    [][]endpoint // per spec, the last good answer
	streaks []streak     // per spec, the current failure streak
}

type streak struct {
	failures int
	since    time.Time
}

// New returns a resolver for specs. interval <= 0 means DefaultInterval;
// r nil means net.DefaultResolver; log nil discards. onChange (may be nil)
// is called with a fresh slice, from one goroutine at a time: first inside
// Start, then from the background loop. It must not call Stop.
func New(specs []Spec, interval time.Duration, r *net.Resolver, onChange func([]Endpoint), log *slog.Logger) *Resolver {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if r == nil {
		r = net.DefaultResolver
	}
	if onChange == nil {
		onChange = func([]Endpoint) {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{
		specs:         slices.Clone(specs),
		interval:      interval,
		lookupTimeout: min(max(interval, minLookupTimeout), maxLookupTimeout),
		dns:           abortable(r),
		onChange:      onChange,
		log:           log,
	}
}

// Start validates the specs and resolves them once, synchronously, calling
// OnChange with the first list before it returns. It fails when a spec is
// invalid or when every spec fails this first round (then the gateway
// should refuse the configuration); a spec that fails while another
// succeeds is logged and retried. After that it keeps re-resolving in a
// goroutine until ctx ends or Stop is called. A resolver whose specs are
// all IP literals starts no goroutine.
func (r *Resolver) Start(ctx context.Context) error {
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return errors.New("discovery: resolver already started")
	}
	r.running = true
	r.mu.Unlock()

	var invalid []error
	for _, s := range r.specs {
		if err := s.validate(); err != nil {
			invalid = append(invalid, err)
		}
	}
	if len(r.specs) == 0 {
		invalid = append(invalid, errors.New("discovery: no specs to resolve"))
	}
	if len(invalid) > 0 {
		r.setRunning(false)
		return errors.Join(invalid...)
	}

	r.last = make([][]endpoint, len(r.specs))
	r.streaks = make([]streak, len(r.specs))
	ok, errs := r.round(ctx)
	if ok == 0 {
		r.setRunning(false)
		return fmt.Errorf("discovery: no spec resolved: %w", errors.Join(errs...))
	}

	dynamic := false
	for _, s := range r.specs {
		if _, lit := s.literal(); !lit {
			dynamic = true
		}
	}
	if !dynamic {
		return nil
	}
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	r.mu.Lock()
	r.cancel, r.done = cancel, done
	r.mu.Unlock()
	go r.loop(loopCtx, done)
	return nil
}

func (r *Resolver) setRunning(v bool) {
	r.mu.Lock()
	r.running = v
	r.mu.Unlock()
}

// Stop ends the background loop, aborting a lookup in flight, and waits
// for it. It is safe to call more than once, and before or without Start.
func (r *Resolver) Stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// abortable returns a resolver like r whose queries end as soon as their
// context does. Go's own DNS client only bounds a query's read by the
// context's deadline, not its cancellation, so without this a lookup that
// Stop cancels lingers until the per-attempt timeout (5s by default). It
// only matters when Go's resolver is used; the cgo one never calls Dial.
func abortable(r *net.Resolver) *net.Resolver {
	dial := r.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return &net.Resolver{
		PreferGo:     r.PreferGo,
		StrictErrors: r.StrictErrors,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			c, err := dial(ctx, network, address)
			if err != nil {
				return nil, err
			}
			// The resolver cancels every query's context when the query
			// ends, so this always runs and never outlives the query.
			context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
			return c, nil
		},
	}
}

// Endpoints returns a copy of the current list: sorted, de-duplicated,
// the union of every spec's last good answer.
func (r *Resolver) Endpoints() []Endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	return public(r.current)
}

func public(eps []endpoint) []Endpoint {
	out := make([]Endpoint, len(eps))
	for i, e := range eps {
		out[i] = e.public()
	}
	return out
}

func (r *Resolver) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(r.nextDelay())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.round(ctx)
		if r.afterRound != nil {
			r.afterRound()
		}
		t.Reset(r.nextDelay())
	}
}

// nextDelay is the interval with ±10% jitter.
func (r *Resolver) nextDelay() time.Duration {
	return jitter(r.interval, rand.Int64N)
}

func jitter(d time.Duration, int64n func(int64) int64) time.Duration {
	spread := int64(d) / 5 // the whole ±10% range
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(int64n(spread+1))
}

// round resolves every spec once, keeps the last good answer of those that
// fail, and publishes the merged list if it changed. It returns how many
// specs resolved and the errors of the others. A round cut short by ctx
// publishes nothing.
func (r *Resolver) round(ctx context.Context) (ok int, errs []error) {
	for i, s := range r.specs {
		eps, err := r.resolve(ctx, s)
		if ctx.Err() != nil {
			return ok, append(errs, ctx.Err())
		}
		if err == nil && len(eps) == 0 {
			err = errors.New("the answer has no usable address")
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", s, err)
			errs = append(errs, err)
			r.failed(i, s, err)
			continue
		}
		ok++
		r.recovered(i, s)
		r.last[i] = eps
	}
	merged := merge(r.last)
	r.mu.Lock()
	changed := !slices.Equal(merged, r.current)
	if changed {
		r.current = merged
	}
	r.mu.Unlock()
	if changed {
		r.onChange(public(merged))
	}
	return ok, errs
}

// failed logs the first failure of a streak only: a DNS outage lasting an
// hour at a 5s interval must not write 720 warnings per spec.
func (r *Resolver) failed(i int, s Spec, err error) {
	st := &r.streaks[i]
	st.failures++
	if st.failures > 1 {
		return
	}
	st.since = time.Now()
	kept := len(r.last[i])
	r.log.Warn("DNS discovery failed; keeping the last good endpoints until it recovers",
		"spec", s.String(), "error", err.Error(), "kept_endpoints", kept)
}

func (r *Resolver) recovered(i int, s Spec) {
	st := &r.streaks[i]
	if st.failures == 0 {
		return
	}
	r.log.Info("DNS discovery recovered", "spec", s.String(),
		"failed_rounds", st.failures, "failing_for", time.Since(st.since).Round(time.Millisecond).String())
	*st = streak{}
}

// merge unions the per-spec lists, de-duplicating by scheme and address
// (the highest weight wins, so listing a name twice does not double its
// traffic) and sorting so that equal sets compare equal.
func merge(lists [][]endpoint) []endpoint {
	var all []endpoint
	for _, l := range lists {
		all = append(all, l...)
	}
	return dedupe(all)
}

func dedupe(eps []endpoint) []endpoint {
	slices.SortFunc(eps, func(a, b endpoint) int {
		if c := compareEndpoint(a, b); c != 0 {
			return c
		}
		return b.weight - a.weight // highest weight first, kept by Compact
	})
	return slices.CompactFunc(eps, func(a, b endpoint) bool { return compareEndpoint(a, b) == 0 })
}
