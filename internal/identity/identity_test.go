package identity

import (
	"errors"
	"net/http"
	"testing"
)

func TestNamePrefersConsumer(t *testing.T) {
	var nilID *Identity
	if nilID.Name() != "" {
		t.Fatal("nil identity has a name")
	}
	id := &Identity{Subject: "sub-1"}
	if id.Name() != "sub-1" {
		t.Fatalf("Name = %q", id.Name())
	}
	id.Consumer = &Consumer{Name: "alice"}
	if id.Name() != "alice" {
		t.Fatalf("Name = %q", id.Name())
	}
}

func TestGroupsAndScopes(t *testing.T) {
	id := &Identity{Groups: []string{"a", "b"}, Scopes: []string{"read"}}
	if !id.InGroup("b") || id.InGroup("c") || !id.HasScope("read") || id.HasScope("write") {
		t.Fatal("membership wrong")
	}
}

func TestErrorWrapsCause(t *testing.T) {
	cause := errors.New("boom")
	e := Unauthorized("bad token", `Bearer realm="x"`, cause)
	if !errors.Is(e, cause) || e.Status != http.StatusUnauthorized || e.Error() != "bad token: boom" {
		t.Fatalf("%v", e)
	}
	if Forbidden("no").Status != 403 || Unavailable("down", nil).Status != 503 {
		t.Fatal("status wrong")
	}
	if Consumers(nil).Get("x") != nil {
		t.Fatal("nil consumers returned one")
	}
}
