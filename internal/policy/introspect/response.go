package introspect

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
)

// result is a parsed introspection response (RFC 7662 section 2.2).
type result struct {
	active   bool
	subject  string
	consumer *identity.Consumer
	scopes   []string
	exp, nbf time.Time // zero when absent
	iss      string
	aud      []string
	claims   map[string]any
}

// parseResponse decodes an introspection response. Members this package
// reads must have their RFC 7662 types; a response that does not is an
// endpoint fault (503), not a verdict on the token.
func (a *Authenticator) parseResponse(body []byte) (*result, error) {
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil {
		return nil, fmt.Errorf("introspection response is not a JSON object: %w", err)
	}
	if claims == nil {
		return nil, errors.New("introspection response is null")
	}
	res := &result{claims: claims}
	var err error
	active, ok := claims["active"].(bool)
	if !ok {
		return nil, errors.New(`introspection response lacks a boolean "active"`)
	}
	res.active = active
	if !active {
		// An inactive response carries no other meaningful member
		// (RFC 7662 section 2.2); don't fail on what it happens to hold.
		return &result{}, nil
	}
	strs := map[string]*string{"iss": &res.iss}
	var scope, sub, username, clientID string
	strs["scope"], strs["sub"], strs["username"], strs["client_id"] = &scope, &sub, &username, &clientID
	for name, dst := range strs {
		if *dst, err = stringMember(claims, name); err != nil {
			return nil, err
		}
	}
	res.scopes = strings.Fields(scope)
	for name, dst := range map[string]*time.Time{"exp": &res.exp, "nbf": &res.nbf, "iat": new(time.Time)} {
		if *dst, err = timeMember(claims, name); err != nil {
			return nil, err
		}
	}
	switch aud := claims["aud"].(type) {
	case nil:
	case string:
		res.aud = []string{aud}
	case []any:
		for _, v := range aud {
			s, ok := v.(string)
			if !ok {
				return nil, errors.New(`introspection response has a non-string "aud" element`)
			}
			res.aud = append(res.aud, s)
		}
	default:
		return nil, errors.New(`introspection response has a malformed "aud"`)
	}
	res.subject = cmp.Or(sub, username, clientID)
	if a.consumerField == "" {
		res.consumer = a.consumers.Get(res.subject)
	} else if name, _ := claims[a.consumerField].(string); name != "" {
		res.consumer = a.consumers.Get(name)
	}
	return res, nil
}

func stringMember(claims map[string]any, name string) (string, error) {
	switch v := claims[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("introspection response has a non-string %q", name)
	}
}

// timeMember reads a NumericDate (seconds since the epoch, possibly
// fractional).
func timeMember(claims map[string]any, name string) (time.Time, error) {
	switch v := claims[name].(type) {
	case nil:
		return time.Time{}, nil
	case float64:
		if math.IsNaN(v) || v < 0 || v > 1e12 {
			return time.Time{}, fmt.Errorf("introspection response has an out-of-range %q", name)
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	default:
		return time.Time{}, fmt.Errorf("introspection response has a non-numeric %q", name)
	}
}
