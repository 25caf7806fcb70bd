package tcpproxy

import (
	"sync/atomic"
	"time"
)

// watchdog enforces a connection's idle timeout without touching the
// bytes (see the package doc): it fires every idle/4, expires the
// connection when no activity was counted for idle, and otherwise pokes
// the copies into returning what they moved so far.
type watchdog struct {
	idle   time.Duration
	period time.Duration
	base   time.Time    // monotonic origin of last
	last   atomic.Int64 // time of the last counted activity, since base
	timer  *time.Timer
	done   atomic.Bool
	poke   func() // make waiting reads return (read deadlines in the past)
	expire func() // close the connection as idle
}

func startWatchdog(idle time.Duration, poke, expire func()) *watchdog {
	w := &watchdog{idle: idle, period: max(idle/4, time.Millisecond), base: time.Now(), poke: poke, expire: expire}
	w.timer = time.AfterFunc(w.period, w.fire)
	return w
}

// active stamps activity now; the copies call it when they count bytes.
func (w *watchdog) active() { w.last.Store(int64(time.Since(w.base))) }

func (w *watchdog) fire() {
	if w.done.Load() {
		return
	}
	if time.Since(w.base)-time.Duration(w.last.Load()) >= w.idle {
		w.expire()
		return
	}
	w.poke()
	w.timer.Reset(w.period)
}

func (w *watchdog) stop() {
	w.done.Store(true)
	w.timer.Stop()
}
