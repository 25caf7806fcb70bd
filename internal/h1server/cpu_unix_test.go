//go:build unix

package h1server

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports process CPU time (user+system) per op. On a CPU-bound
// 2-core gateway that, not wall time, is what a cheaper server buys; the
// client in the same process is identical for both servers.
type cpuMeter struct{ start time.Duration }

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU() cpuMeter { return cpuMeter{processCPU()} }

func (m cpuMeter) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-m.start)/float64(b.N), "cpu-ns/op")
	}
}
