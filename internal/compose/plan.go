package compose

// plan is the DAG of a composition, resolved once by New.
type plan struct {
	// needs[i] are the indexes step i waits for directly; deps[i] every
	// step it transitively depends on (whose results its templates see).
	needs [][]int
	deps  [][]int
	// broken[i] marks a step that cannot run: it needs an unknown step
	// or is on a cycle. Configuration validation refuses both; this keeps
	// a hand-built Config from deadlocking.
	broken []bool
}

func newPlan(steps []Step) *plan {
	idx := make(map[string]int, len(steps))
	for i, s := range steps {
		idx[s.Name] = i
	}
	p := &plan{needs: make([][]int, len(steps)), deps: make([][]int, len(steps)), broken: make([]bool, len(steps))}
	for i, s := range steps {
		for _, n := range s.Needs {
			j, ok := idx[n]
			if !ok || j == i {
				p.broken[i] = true
				continue
			}
			p.needs[i] = append(p.needs[i], j)
		}
	}
	// Kahn's algorithm: whatever is never freed is on (or behind) a cycle.
	indeg := make([]int, len(steps))
	users := make([][]int, len(steps))
	for i, ns := range p.needs {
		indeg[i] = len(ns)
		for _, j := range ns {
			users[j] = append(users[j], i)
		}
	}
	var queue, order []int
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		order = append(order, i)
		for _, u := range users[i] {
			if indeg[u]--; indeg[u] == 0 {
				queue = append(queue, u)
			}
		}
	}
	ordered := make([]bool, len(steps))
	for _, i := range order {
		ordered[i] = true
	}
	for i := range steps {
		if !ordered[i] {
			p.broken[i] = true
		}
	}
	// Transitive dependencies, in topological order so each step's
	// needs are complete before it is visited.
	for _, i := range order {
		seen := make(map[int]bool)
		for _, j := range p.needs[i] {
			for _, k := range append([]int{j}, p.deps[j]...) {
				if !seen[k] {
					seen[k] = true
					p.deps[i] = append(p.deps[i], k)
				}
			}
		}
	}
	return p
}
