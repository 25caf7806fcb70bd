package router

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		// Already canonical: returned as is.
		{"root", "/", "/", nil},
		{"plain", "/v1/users/42", "/v1/users/42", nil},
		{"trailing slash kept", "/a/b/", "/a/b/", nil},
		{"dot inside segment", "/.well-known/x", "/.well-known/x", nil},
		{"three dots is a name", "/a/...", "/a/...", nil},
		{"dotdot prefix is a name", "/a/..b/c..", "/a/..b/c..", nil},
		{"sub-delims raw", "/a;b=c,d!$&'()*+:@", "/a;b=c,d!$&'()*+:@", nil},
		{"canonical escape", "/caf%C3%A9", "/caf%C3%A9", nil},

		// The bypasses the package exists to stop.
		{"dotdot climbs", "/public/../admin", "/admin", nil},
		{"double slash", "//admin", "/admin", nil},
		{"slash run inside", "/a///b////c", "/a/b/c", nil},
		{"encoded letter", "/%61dmin", "/admin", nil},
		{"encoded upper letter", "/%41DMIN", "/ADMIN", nil},
		{"encoded slash", "/admin%2f..", "", ErrEncodedSeparator},
		{"encoded slash upper", "/admin%2F", "", ErrEncodedSeparator},
		{"encoded backslash", "/admin%5c..", "", ErrEncodedSeparator},
		{"encoded backslash upper", "/admin%5C", "", ErrEncodedSeparator},
		{"encoded NUL", "/admin%00.html", "", ErrEncodedSeparator},
		{"dot segment", "/./admin", "/admin", nil},
		{"encoded dotdot", "/public/%2e%2e/admin", "/admin", nil},
		{"mixed encoded dotdot", "/public/.%2E/admin", "/admin", nil},
		{"encoded dot", "/%2e/admin", "/admin", nil},
		{"dotdot above root", "/../../admin", "/admin", nil},
		{"dotdot after slash run", "/a//..//admin", "/admin", nil},
		{"double encoding not decoded twice", "/%252e%252e/admin", "/%252e%252e/admin", nil},
		{"double encoding upper kept", "/%252E", "/%252E", nil},
		{"double encoding lower hex fixed", "/%2a%252e", "/%2A%252e", nil},

		// Dot-segments at the end leave a directory.
		{"final dot", "/a/.", "/a/", nil},
		{"final dotdot", "/a/..", "/", nil},
		{"final dotdot keeps parent dir", "/a/b/..", "/a/", nil},
		{"only dot", "/.", "/", nil},
		{"only dotdot", "/..", "/", nil},
		{"dot then slash", "/a/./", "/a/", nil},
		{"slashes only", "///", "/", nil},
		{"trailing slash run", "/a//", "/a/", nil},

		// Escapes: unreserved decoded, the rest upper-cased.
		{"lower hex upper-cased", "/caf%c3%a9", "/caf%C3%A9", nil},
		{"reserved escape kept", "/a%3fb%3F", "/a%3Fb%3F", nil},
		{"percent escape kept", "/100%25", "/100%25", nil},
		{"tilde decoded", "/%7Euser", "/~user", nil},
		{"space escape kept", "/a%20b", "/a%20b", nil},
		{"raw unicode encoded", "/café", "/caf%C3%A9", nil},
		{"raw space encoded", "/a b", "/a%20b", nil},
		{"raw query char encoded", "/a?b#c", "/a%3Fb%23c", nil},
		{"raw braces encoded", "/{x}", "/%7Bx%7D", nil},
		{"raw DEL is bad", "/a\x7f", "", ErrBadPath},

		// Malformed input.
		{"empty", "", "", ErrBadPath},
		{"no leading slash", "admin", "", ErrBadPath},
		{"asterisk", "*", "", ErrBadPath},
		{"absolute form", "http://x/admin", "", ErrBadPath},
		{"lone percent", "/a%", "", ErrBadPath},
		{"short escape", "/a%4", "", ErrBadPath},
		{"non-hex escape", "/a%zz", "", ErrBadPath},
		{"half hex escape", "/a%4g", "", ErrBadPath},
		{"raw backslash", "/admin\\..\\x", "", ErrBadPath},
		{"raw NUL", "/admin\x00", "", ErrBadPath},
		{"raw newline", "/a\nb", "", ErrBadPath},
		{"raw tab", "/a\tb", "", ErrBadPath},
		{"decoded control kept encoded", "/a%0a", "/a%0A", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Normalize(%q) = %q, %v; want error %v", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			again, err := Normalize(got)
			if err != nil || again != got {
				t.Fatalf("not idempotent: Normalize(%q) = %q, %v", got, again, err)
			}
		})
	}
}

// TestNormalizeErrorsDistinct checks the two errors are different values, so
// the gateway can log them differently while answering 400 for both.
func TestNormalizeErrorsDistinct(t *testing.T) {
	if errors.Is(ErrBadPath, ErrEncodedSeparator) || errors.Is(ErrEncodedSeparator, ErrBadPath) {
		t.Fatal("ErrBadPath and ErrEncodedSeparator must be distinct")
	}
}

// TestNormalizeCanonicalNoAlloc checks the fast path, including canonical
// paths that contain escapes, returns the input without allocating.
func TestNormalizeCanonicalNoAlloc(t *testing.T) {
	for _, p := range []string{"/", "/v1/users/42/orders", "/caf%C3%A9/a%20b/", "/.well-known/acme"} {
		var out string
		allocs := testing.AllocsPerRun(100, func() { out, _ = Normalize(p) })
		if allocs != 0 {
			t.Errorf("Normalize(%q): %v allocs, want 0", p, allocs)
		}
		if out != p {
			t.Errorf("Normalize(%q) = %q", p, out)
		}
	}
}

// TestNormalizeDirtyOneAlloc checks the slow path builds the result on the
// stack and allocates only the returned string.
func TestNormalizeDirtyOneAlloc(t *testing.T) {
	p := "/public/../v1//users/%7euser/./x"
	allocs := testing.AllocsPerRun(100, func() { _, _ = Normalize(p) })
	if allocs > 1 {
		t.Errorf("Normalize(%q): %v allocs, want <= 1", p, allocs)
	}
}

// TestNormalizeLong exercises the heap growth of the slow path's buffer.
func TestNormalizeLong(t *testing.T) {
	in := "/" + strings.Repeat("é/./", 200) + ".."
	got, err := Normalize(in)
	want := strings.Repeat("/%C3%A9", 199) + "/"
	if err != nil || got != want {
		t.Fatalf("Normalize(long) = %q, %v; want %q", got, err, want)
	}
}
