package h1client

import "github.com/gatehouse/gatehouse/internal/h1wire"

// The validators moved to h1wire; these names keep fuzz_test.go's
// invariant checks readable and unchanged.
func isToken(s string) bool         { return h1wire.IsToken(s) }
func validFieldValue(v string) bool { return h1wire.ValidFieldValue(v) }
