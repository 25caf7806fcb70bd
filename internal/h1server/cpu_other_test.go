//go:build !unix

package h1server

import "testing"

type cpuMeter struct{}

func startCPU() cpuMeter           { return cpuMeter{} }
func (cpuMeter) report(*testing.B) {}
