package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// Usage is a consumer's quota state, as the usage endpoint shows it.
type Usage struct {
	Consumer string    `json:"consumer"`
	Plan     string    `json:"plan"`
	Limit    int64     `json:"limit"`
	Used     int64     `json:"used"`
	Period   string    `json:"period"`
	ResetAt  time.Time `json:"reset_at"`
}

// ErrNoQuota is returned by TrafficAPI.Usage for a consumer without a
// plan quota.
var ErrNoQuota = errors.New("the consumer's plan has no quota")

// TrafficAPI is what the usage and cache endpoints call.
type TrafficAPI struct {
	// Usage reads, and ResetUsage deletes, the consumer's plan quota
	// counter.
	Usage      func(ctx context.Context, consumer string) (Usage, error)
	ResetUsage func(ctx context.Context, consumer string) error
	// Purge deletes cached responses of route ("" for every route): the
	// entry for key when given, else every entry whose path starts with
	// prefix. It returns how many it deleted, or an error naming an
	// unknown route.
	Purge func(ctx context.Context, route, key, prefix string) (int, error)
}

// ErrUnknownRoute is returned by TrafficAPI.Purge for a route without a cache.
var ErrUnknownRoute = errors.New("no route by that name has a cache")

func (a *API) registerTraffic(mux *http.ServeMux) {
	if a.Traffic == nil {
		return
	}
	mux.Handle("GET /consumers/{name}/usage", a.guard(a.usage))
	mux.Handle("DELETE /consumers/{name}/usage", a.guard(a.resetUsage))
	mux.Handle("POST /cache/purge", a.guard(a.purge))
}

func (a *API) usage(w http.ResponseWriter, r *http.Request) {
	a.withUsage(w, r, func(ctx context.Context, name string) error {
		u, err := a.Traffic.Usage(ctx, name)
		if err == nil {
			writeJSON(w, http.StatusOK, u)
		}
		return err
	})
}

func (a *API) resetUsage(w http.ResponseWriter, r *http.Request) {
	a.withUsage(w, r, func(ctx context.Context, name string) error {
		err := a.Traffic.ResetUsage(ctx, name)
		if err == nil {
			w.WriteHeader(http.StatusNoContent)
		}
		return err
	})
}

// withUsage resolves {name} and runs f on it with a deadline, answering
// f's failure: 404 for a consumer without a plan quota, else 503.
func (a *API) withUsage(w http.ResponseWriter, r *http.Request, f func(ctx context.Context, name string) error) {
	c := a.consumer(w, r)
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	switch err := f(ctx, c.Name); {
	case errors.Is(err, ErrNoQuota):
		problem.Write(w, r, http.StatusNotFound, err.Error())
	case err != nil:
		problem.Write(w, r, http.StatusServiceUnavailable, "the store cannot answer")
	}
}

// purgeRequest is the body of POST /cache/purge.
type purgeRequest struct {
	Route  string `json:"route"`
	Key    string `json:"key"`
	Prefix string `json:"prefix"`
}

func (a *API) purge(w http.ResponseWriter, r *http.Request) {
	var req purgeRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || (req.Key == "") == (req.Prefix == "") {
		problem.Write(w, r, http.StatusBadRequest, `send {"route": "...", "prefix": "/path"} or {"route": "...", "key": "..."}`)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	n, err := a.Traffic.Purge(ctx, req.Route, req.Key, req.Prefix)
	switch {
	case errors.Is(err, ErrUnknownRoute):
		problem.Write(w, r, http.StatusNotFound, err.Error())
	case err != nil:
		problem.Write(w, r, http.StatusServiceUnavailable, "the cache store cannot answer")
	default:
		writeJSON(w, http.StatusOK, map[string]int{"purged": n})
	}
}
