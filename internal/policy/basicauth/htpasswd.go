package basicauth

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// ParseHtpasswd reads an Apache htpasswd file. name is used in error
// messages ("name:line: ..."). Blank lines and lines starting with '#'
// are skipped. Only bcrypt entries ($2y$, $2a$, $2b$, as written by
// `htpasswd -B`) are accepted: the other schemes htpasswd supports
// ({SHA}, $apr1$ MD5, crypt, plain text) are fast to brute-force, so a
// file using them is refused rather than silently weakening the route.
func ParseHtpasswd(r io.Reader, name string) ([]User, error) {
	var users []User
	seen := make(map[string]int)
	sc := bufio.NewScanner(r) // lines are bounded by the scanner's 64 KiB token limit
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected user:hash", name, line)
		}
		if user == "" {
			return nil, fmt.Errorf("%s:%d: empty user name", name, line)
		}
		if !isBcrypt(hash) {
			return nil, fmt.Errorf("%s:%d: unsupported hash scheme %s for user %q (use htpasswd -B)", name, line, scheme(hash), user)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("%s:%d: malformed bcrypt hash for user %q", name, line, user)
		}
		if prev, dup := seen[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q already defined on line %d", name, line, user, prev)
		}
		seen[user] = line
		users = append(users, User{Name: user, Hash: []byte(hash)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return users, nil
}

func isBcrypt(hash string) bool {
	return strings.HasPrefix(hash, "$2y$") || strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$")
}

// scheme names a refused hash's scheme without echoing the hash itself.
func scheme(hash string) string {
	switch {
	case strings.HasPrefix(hash, "{SHA}"):
		return "{SHA}"
	case strings.HasPrefix(hash, "$apr1$"):
		return "$apr1$ (MD5)"
	case strings.HasPrefix(hash, "$"):
		if end := strings.IndexByte(hash[1:], '$'); end >= 0 && end < 16 {
			return fmt.Sprintf("%q", hash[:end+2])
		}
		return "unknown"
	case len(hash) == 13:
		return "crypt"
	default:
		return "unknown or plain text"
	}
}
