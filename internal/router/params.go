package router

// MaxParams is how many template parameters one route may capture. Params
// stores them in fixed arrays so that Match never allocates; New rejects
// templates with more.
const MaxParams = 8

// Params holds the parameters captured by a PathTemplate match. Values are
// substrings of the normalised path (still percent-encoded, as forwarded).
// A Params is meant to live on the caller's stack or in a pooled request
// context and be reused; Match resets it.
type Params struct {
	n      int
	names  [MaxParams]string
	values [MaxParams]string
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

// add appends a parameter; the template compiler guarantees room.
func (p *Params) add(name, value string) {
	if p.n < MaxParams {
		p.names[p.n], p.values[p.n] = name, value
		p.n++
	}
}
