package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/problem"
)

// API is what the consumer and key endpoints read from the running
// gateway. Each func is called per request, so a reload is seen at once.
type API struct {
	// Token returns the bearer token that protects the API; "" disables it.
	Token func() string
	// Consumers returns the configured consumers.
	Consumers func() identity.Consumers
	// Keys returns the key store, or nil when none is open.
	Keys func() keystore.Store
	// Traffic serves quota usage and cache purges; nil leaves them out.
	Traffic *TrafficAPI
}

// keyView is a key as the API shows it: never the hash, never the key.
type keyView struct {
	ID       string    `json:"id"`
	Consumer string    `json:"consumer"`
	Prefix   string    `json:"prefix"`
	Created  time.Time `json:"created"`
	// Key is the plain key, present only in the answer to its issuance.
	Key string `json:"key,omitempty"`
}

type consumerView struct {
	Name     string            `json:"name"`
	Groups   []string          `json:"groups"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// register adds the consumer and key endpoints to mux.
func (a *API) register(mux *http.ServeMux) {
	mux.Handle("GET /consumers", a.guard(a.listConsumers))
	mux.Handle("GET /consumers/{name}", a.guard(a.getConsumer))
	mux.Handle("GET /consumers/{name}/keys", a.guard(a.listKeys))
	mux.Handle("POST /consumers/{name}/keys", a.guard(a.issueKey))
	mux.Handle("DELETE /consumers/{name}/keys/{id}", a.guard(a.revokeKey))
	a.registerTraffic(mux)
}

// guard checks the bearer token in constant time (over hashes, so the
// token's length does not leak either).
func (a *API) guard(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := a.Token()
		if want == "" {
			problem.Write(w, r, http.StatusForbidden, "the admin API is disabled: set admin.token in the configuration")
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		gh, wh := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
		if !ok || subtle.ConstantTimeCompare(gh[:], wh[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse-admin"`)
			problem.Write(w, r, http.StatusUnauthorized, "a valid admin token is required")
			return
		}
		h(w, r)
	})
}

func (a *API) listConsumers(w http.ResponseWriter, r *http.Request) {
	cs := a.Consumers()
	out := make([]consumerView, 0, len(cs))
	for _, c := range cs {
		out = append(out, view(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

func view(c *identity.Consumer) consumerView {
	g := c.Groups
	if g == nil {
		g = []string{}
	}
	return consumerView{Name: c.Name, Groups: g, Metadata: c.Metadata}
}

// consumer resolves {name}, answering 404 itself when it is unknown:
// keys are only issued to consumers the configuration defines.
func (a *API) consumer(w http.ResponseWriter, r *http.Request) *identity.Consumer {
	c := a.Consumers().Get(r.PathValue("name"))
	if c == nil {
		problem.Write(w, r, http.StatusNotFound, "no consumer by that name is configured")
	}
	return c
}

// keysOf resolves {name} and the key store, answering 404 or 503
// itself when either is missing.
func (a *API) keysOf(w http.ResponseWriter, r *http.Request) (*identity.Consumer, keystore.Store) {
	c := a.consumer(w, r)
	if c == nil {
		return nil, nil
	}
	s := a.Keys()
	if s == nil {
		problem.Write(w, r, http.StatusServiceUnavailable, "no key store is open")
		return nil, nil
	}
	return c, s
}

func (a *API) getConsumer(w http.ResponseWriter, r *http.Request) {
	if c := a.consumer(w, r); c != nil {
		writeJSON(w, http.StatusOK, view(c))
	}
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	c, s := a.keysOf(w, r)
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	keys, err := s.List(ctx, c.Name)
	if err != nil {
		problem.Write(w, r, http.StatusServiceUnavailable, "the key store cannot answer")
		return
	}
	out := make([]keyView, len(keys))
	for i, k := range keys {
		out[i] = keyView{ID: k.ID, Consumer: k.Consumer, Prefix: k.Prefix, Created: k.Created}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) issueKey(w http.ResponseWriter, r *http.Request) {
	c, s := a.keysOf(w, r)
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	plain, k, err := s.Issue(ctx, c.Name)
	if err != nil {
		problem.Write(w, r, http.StatusServiceUnavailable, "the key store cannot issue a key")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/consumers/"+c.Name+"/keys/"+k.ID)
	writeJSON(w, http.StatusCreated, keyView{ID: k.ID, Consumer: k.Consumer, Prefix: k.Prefix, Created: k.Created, Key: plain})
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	c, s := a.keysOf(w, r)
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	switch err := s.Revoke(ctx, c.Name, r.PathValue("id")); {
	case errors.Is(err, keystore.ErrNotFound):
		problem.Write(w, r, http.StatusNotFound, "the consumer has no key with that id")
	case err != nil:
		problem.Write(w, r, http.StatusServiceUnavailable, "the key store cannot revoke the key")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
