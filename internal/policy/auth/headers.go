package auth

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// The headers a route without consumer_headers sends upstream about the
// authenticated identity. Client-sent copies are always removed first, so
// an upstream can trust them on a route with authentication.
const (
	HeaderConsumer = "X-Consumer-Name"
	HeaderGroups   = "X-Consumer-Groups"
	HeaderMethod   = "X-Auth-Method"
)

// DefaultHeaders are the identity headers of a route that names none.
var DefaultHeaders = []IdentityHeader{{HeaderConsumer, "name"}, {HeaderGroups, "groups"}, {HeaderMethod, "method"}}

// IdentityHeader is one upstream header and the identity field it
// carries: name, subject, groups, scopes, method, plan or metadata.KEY.
type IdentityHeader struct {
	Header string // canonical
	Field  string
}

// value is the field's value for id ("" when it has none).
func (h IdentityHeader) value(id *identity.Identity) string {
	switch h.Field {
	case "name":
		return id.Name()
	case "subject":
		return id.Subject
	case "groups":
		return strings.Join(id.Groups, ",")
	case "scopes":
		return strings.Join(id.Scopes, " ")
	case "method":
		return id.Method
	case "plan":
		if id.Consumer != nil {
			return id.Consumer.Plan
		}
	default:
		if key, ok := strings.CutPrefix(h.Field, "metadata."); ok && id.Consumer != nil {
			return id.Consumer.Metadata[key]
		}
	}
	return ""
}

// set writes the identity headers that have a value for id.
func setIdentityHeaders(h http.Header, headers []IdentityHeader, id *identity.Identity) {
	for _, ih := range headers {
		if v := ih.value(id); v != "" {
			h[ih.Header] = []string{v}
		}
	}
}
