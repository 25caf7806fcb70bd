//go:build unix

package h1client

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeter reports process CPU time (user+system) per op. On a CPU-bound
// 2-core proxy that, not wall time, is what a cheaper client buys; the
// upstream in the same process is identical for both transports.
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
