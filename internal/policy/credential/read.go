package credential

import (
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is returned by ReadAll for a body longer than its bound.
var ErrTooLarge = errors.New("response too large")

// ReadAll reads r to the end, refusing more than limit bytes with an
// error wrapping ErrTooLarge: an identity provider's answer (a JWKS, an
// introspection response) is small, and a truncated one must not be
// parsed as if it were whole.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
