package config

import "strings"

// suggest returns the candidate closest to word by edit distance, or ""
// when none is close enough to be a plausible typo. Case is ignored so
// "Upstream" suggests "upstream".
func suggest(word string, candidates []string) string {
	w := strings.ToLower(word)
	// Allow roughly one edit per four characters: "upstrem" → "upstream",
	// "listner" → "listeners", but "foo" suggests nothing.
	limit := 1 + len(w)/4
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(w, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return best
	}
	// A shortened or extended word ("warning" for "warn", "list" for
	// "listeners") is far in edits but obvious to a reader.
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if min(len(lc), len(w)) >= 3 && (strings.HasPrefix(w, lc) || strings.HasPrefix(lc, w)) {
			return c
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in bytes.
// Inputs are keys and names, so a short two-row table is enough; the
// length cap keeps adversarial input from costing quadratic time.
func editDistance(a, b string) int {
	const maxLen = 64
	if len(a) > maxLen || len(b) > maxLen {
		if a == b {
			return 0
		}
		return maxLen
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
