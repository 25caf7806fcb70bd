package health

import "time"

// clock is the time source of a Registry. Ejection lengths are tens of
// seconds to minutes, so tests substitute a fake clock they advance by hand
// instead of sleeping.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has elapsed, unless
	// the returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) timer
}

// timer is the part of *time.Timer the package uses.
type timer interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }
