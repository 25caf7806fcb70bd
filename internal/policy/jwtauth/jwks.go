package jwtauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

// MaxJWKSBytes bounds a JWKS document. Real ones are a few KiB.
const MaxJWKSBytes = 1 << 20

// jwksCache holds the keys of one JWKS URL. It is a small fetcher of its
// own rather than keyfunc's because keyfunc makes a caller with an
// unknown kid wait on the rate limiter (up to a minute by default), reads
// the response unbounded and fetches synchronously at construction;
// jwkset still does the JWK parsing.
type jwksCache struct {
	url        string
	client     *http.Client
	timeout    time.Duration
	refresh    time.Duration
	minRefresh time.Duration
	log        *slog.Logger
	now        func() time.Time // the rate limit's clock; tests replace it

	keys atomic.Pointer[keySet] // nil until the first successful fetch

	ctx    context.Context // ends fetches and the refresh loop on close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	lastAttempt time.Time  // start of the last fetch, for the rate limit
	inflight    *fetchCall // the fetch in progress, shared by all waiters
	started     bool
	closed      bool
}

// fetchCall is one fetch; done is closed when it ends.
type fetchCall struct {
	done chan struct{}
	err  error
}

func newJWKSCache(url string, client *http.Client, timeout, refresh, minRefresh time.Duration, log *slog.Logger) *jwksCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &jwksCache{
		url: url, client: client, timeout: timeout, refresh: refresh, minRefresh: minRefresh,
		log: log, now: time.Now, ctx: ctx, cancel: cancel,
	}
}

// current returns the cached keys, nil before the first good fetch.
func (c *jwksCache) current() *keySet { return c.keys.Load() }

// start launches the refresh loop: a first fetch at once, then one every
// refresh interval, or every minRefresh while fetches fail.
func (c *jwksCache) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	c.wg.Add(1)
	go c.loop()
}

func (c *jwksCache) loop() {
	defer c.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-timer.C:
		}
		call := c.begin(true)
		if call == nil {
			return // closed
		}
		select {
		case <-c.ctx.Done():
			return
		case <-call.done:
		}
		next := c.refresh
		if call.err != nil && c.current() == nil {
			// Without any keys every token needing them is refused:
			// retry sooner than the normal period.
			next = min(c.minRefresh, c.refresh)
		}
		timer.Reset(next)
	}
}

// refreshUnknown fetches the JWKS again because a token named a key that
// is not cached, unless a fetch started less than minRefresh ago. It
// waits for the fetch (its own or one already in flight) or for ctx.
func (c *jwksCache) refreshUnknown(ctx context.Context) {
	call := c.begin(false)
	if call == nil {
		return
	}
	select {
	case <-call.done:
	case <-ctx.Done():
	}
}

// begin returns the fetch in flight, or starts one — when force is set or
// the rate limit allows — or returns nil.
func (c *jwksCache) begin(force bool) *fetchCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if c.inflight != nil {
		return c.inflight
	}
	now := c.now()
	if !force && !c.lastAttempt.IsZero() && now.Sub(c.lastAttempt) < c.minRefresh {
		return nil
	}
	call := &fetchCall{done: make(chan struct{})}
	c.inflight, c.lastAttempt = call, now
	c.wg.Add(1)
	// The fetch runs on its own goroutine with the cache's context so a
	// caller giving up (its request ended) does not abort it for the
	// others waiting on it.
	go func() {
		defer c.wg.Done()
		call.err = c.fetch()
		c.mu.Lock()
		c.inflight = nil
		c.mu.Unlock()
		close(call.done)
	}()
	return call
}

// fetch loads the JWKS and replaces the cached keys. On any failure the
// previous keys stay: an IdP outage must not log everyone out.
func (c *jwksCache) fetch() error {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	defer cancel()
	err := c.fetchCtx(ctx)
	if err != nil {
		c.log.Warn("jwt: JWKS fetch failed; keeping cached keys", "url", c.url, "error", err)
	}
	return err
}

func (c *jwksCache) fetchCtx(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS answered status %d", resp.StatusCode)
	}
	body, err := credential.ReadAll(resp.Body, MaxJWKSBytes)
	if err != nil {
		return fmt.Errorf("reading JWKS: %w", err)
	}
	set, skipped, err := parseJWKS(body)
	if err != nil {
		return err
	}
	c.keys.Store(set)
	c.log.Debug("jwt: JWKS loaded", "url", c.url, "keys", len(set.all), "skipped", skipped)
	return nil
}

// parseJWKS reads a JWK Set (RFC 7517 §5), keeping the signature keys
// this package can use and counting the rest as skipped. A set with no
// usable key is an error, so a broken response never empties the cache.
func parseJWKS(body []byte) (set *keySet, skipped int, err error) {
	var doc jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, 0, fmt.Errorf("decoding JWKS: %w", err)
	}
	keys := make([]*verifyKey, 0, len(doc.Keys))
	for _, m := range doc.Keys {
		k, err := jwkToKey(m)
		if err != nil {
			skipped++
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, skipped, errors.New("JWKS holds no usable signature key")
	}
	return newKeySet(keys), skipped, nil
}

// jwkToKey converts one JWK into a verification key, refusing encryption
// keys, symmetric keys (a JWKS is public) and algorithms not supported.
func jwkToKey(m jwkset.JWKMarshal) (*verifyKey, error) {
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("key use %q", m.USE)
	}
	if m.KTY == jwkset.KtyOct {
		return nil, errors.New("symmetric key in a JWKS")
	}
	alg := string(m.ALG)
	if alg != "" && algFamily(alg) == famNone {
		return nil, fmt.Errorf("unsupported alg %q", alg)
	}
	// Private parameters are ignored (Private false): only the public
	// half is ever used, and an IdP publishing a private key is broken
	// but should not break us.
	jwk, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil, err
	}
	return newVerifyKey(m.KID, alg, jwk.Key())
}

// close stops the refresh loop and waits for fetches in flight.
func (c *jwksCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}
