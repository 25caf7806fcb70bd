// Package pathparams holds the parameters a route's path template
// captured ({id} in /users/{id}). It is a leaf so that the per-request
// record (reqinfo) can carry them without depending on the router.
package pathparams

// Max is how many template parameters one route may capture. Params
// stores them in fixed arrays so that matching never allocates; the
// router refuses templates with more.
const Max = 8

// Params holds the parameters captured by a PathTemplate match. Values are
// substrings of the normalised path (still percent-encoded, as forwarded).
// A Params is meant to live on the caller's stack or in a pooled request
// context and be reused; the router's Match resets it.
type Params struct {
	n      int
	names  [Max]string
	values [Max]string
}

// Get returns the value of the parameter called name.
func (p *Params) Get(name string) (string, bool) {
	for i := 0; i < p.n; i++ {
		if p.names[i] == name {
			return p.values[i], true
		}
	}
	return "", false
}

// Len returns the number of captured parameters.
func (p *Params) Len() int { return p.n }

// At returns the i-th captured parameter in template order, or empty strings
// when i is out of range (never panics).
func (p *Params) At(i int) (name, value string) {
	if i < 0 || i >= p.n {
		return "", ""
	}
	return p.names[i], p.values[i]
}

// Reset forgets all parameters.
func (p *Params) Reset() {
	// Clearing the strings lets the previous request's path be collected.
	for i := 0; i < p.n; i++ {
		p.names[i], p.values[i] = "", ""
	}
	p.n = 0
}

// Add appends a parameter; beyond Max it is dropped (the router
// guarantees room).
func (p *Params) Add(name, value string) {
	if p.n < Max {
		p.names[p.n], p.values[p.n] = name, value
		p.n++
	}
}
