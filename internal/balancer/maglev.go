package balancer

import (
	"github.com/cespare/xxhash/v2"
)

// Maglev consistent hashing (Eisenbud et al., NSDI 2016), as Envoy builds
// it: each target walks its own pseudo-random permutation of a prime-sized
// lookup table, taking turns to claim the next free slot on its walk, so
// every target ends up with a share of slots equal to its weight share and
// a key's target is one table load away. Because a target's permutation
// depends only on its address, rebuilding the table after adding or
// removing one target reassigns little more than the slots that target
// gains or loses.

const (
	// maglevMinSize is the table size for pools up to 655 targets: the
	// prime Envoy uses by default, large enough that weight shares are
	// honoured to ±0.002% per slot yet small enough (128 KiB) to build in
	// about a millisecond on reload.
	maglevMinSize = 65537
	// maglevSlotsPerTarget keeps slots ≥ 100 × targets for larger pools,
	// the ratio the paper gives for good balance and low disruption.
	maglevSlotsPerTarget = 100
	// maglevMaxTargets is the most targets a table of uint16 entries can
	// name; one value above it marks an empty slot during the build.
	maglevMaxTargets = 1<<16 - 1
	maglevEmpty      = 1<<16 - 1
)

// maglevTableSize is the smallest prime ≥ max(65537, 100×n).
func maglevTableSize(n int) uint64 {
	m := uint64(max(maglevMinSize, maglevSlotsPerTarget*n))
	for !isPrime(m) {
		m++
	}
	return m
}

// isPrime is trial division; it runs once per table build on numbers of at
// most a few million.
func isPrime(m uint64) bool {
	if m < 2 {
		return false
	}
	for d := uint64(2); d*d <= m; d++ {
		if m%d == 0 {
			return false
		}
	}
	return true
}

// buildMaglev returns the lookup table for targets: entry i is the index in
// targets of the target owning slot i. Targets with no weight own no slots;
// nil when no target has weight. len(targets) must be ≤ maglevMaxTargets.
func buildMaglev(targets []*Target) []uint16 {
	type entry struct {
		index        int
		weight       uint64
		offset, skip uint64 // the permutation: slot(j) = (offset + j·skip) mod m
		pos          uint64 // current slot on the permutation
		threshold    uint64 // turns are skipped while iteration·weight < threshold
	}
	var es []entry
	var maxW uint64
	for i, t := range targets {
		if t.Weight <= 0 {
			continue
		}
		es = append(es, entry{index: i, weight: uint64(t.Weight)})
		maxW = max(maxW, uint64(t.Weight))
	}
	if len(es) == 0 {
		return nil
	}
	m := maglevTableSize(len(es))
	for i := range es {
		addr := targets[es[i].index].Addr
		// Two independent hashes of the address, so offset and skip are
		// not correlated; seeded by address alone, so a target keeps its
		// permutation across reloads and pools.
		es[i].offset = xxhash.Sum64String(addr) % m
		es[i].skip = xxhash.Sum64String("maglev-skip:"+addr)%(m-1) + 1
		es[i].pos = es[i].offset
	}
	table := make([]uint16, m)
	for i := range table {
		table[i] = maglevEmpty
	}
	// Envoy's weighted fill: a target of the largest weight claims a slot
	// every iteration, one of a third of it every third iteration, so
	// claimed slots end up proportional to weight. Integer thresholds keep
	// the build exact and reproducible across platforms.
	filled := uint64(0)
	for iter := uint64(1); filled < m; iter++ {
		for i := range es {
			e := &es[i]
			if iter*e.weight < e.threshold {
				continue
			}
			e.threshold += maxW
			for table[e.pos] != maglevEmpty {
				e.pos += e.skip
				if e.pos >= m {
					e.pos -= m
				}
			}
			table[e.pos] = uint16(e.index)
			filled++
			if filled == m {
				break
			}
		}
	}
	return table
}
