package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"github.com/identityd/identityd/clients"
)

// Key sets fetched from clients' jwks_uri are kept this long; a key id not in a kept
// set refetches it, at most once per keySetRefetchEvery, so that a flood of assertions
// naming unknown keys cannot make identityd flood the client's server.
const (
	keySetTTL          = 5 * time.Minute
	keySetRefetchEvery = 10 * time.Second
	keySetMaxEntries   = 10000
)

// keySetFetcher fetches the key sets of private_key_jwt clients that publish them at a
// jwks_uri, in place of fosite's fetcher: through identityd's outbound client (which
// refuses private addresses), with the body bounded, and answering a failure as the
// client's problem (invalid_client) rather than as a server error.
type keySetFetcher struct {
	client *http.Client
	now    func() time.Time

	mu   sync.Mutex
	sets map[string]fetchedKeySet
}

type fetchedKeySet struct {
	set       *jose.JSONWebKeySet
	fetchedAt time.Time
}

var _ fosite.JWKSFetcherStrategy = (*keySetFetcher)(nil)

func newKeySetFetcher(client *http.Client, now func() time.Time) *keySetFetcher {
	return &keySetFetcher{client: client, now: now, sets: map[string]fetchedKeySet{}}
}

// Resolve returns the key set at location; fosite asks with refresh when an assertion
// names a key the kept set lacks.
func (f *keySetFetcher) Resolve(ctx context.Context, location string, refresh bool) (*jose.JSONWebKeySet, error) {
	now := f.now()
	f.mu.Lock()
	kept, ok := f.sets[location]
	f.mu.Unlock()
	if ok {
		age := now.Sub(kept.fetchedAt)
		if age < keySetTTL && (!refresh || age < keySetRefetchEvery) {
			return kept.set, nil
		}
	}
	set, err := f.fetch(ctx, location)
	if err != nil {
		return nil, fosite.ErrInvalidClient.WithHint("The client's key set could not be fetched from its jwks_uri.").
			WithWrap(err).WithDebug(err.Error())
	}
	f.mu.Lock()
	if len(f.sets) >= keySetMaxEntries {
		clear(f.sets)
	}
	f.sets[location] = fetchedKeySet{set: set, fetchedAt: now}
	f.mu.Unlock()
	return set, nil
}

func (f *keySetFetcher) fetch(ctx context.Context, location string) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", location, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, clients.MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", location, err)
	}
	if len(body) > clients.MaxJWKSBytes {
		return nil, fmt.Errorf("fetch %s: the key set is over %d bytes", location, clients.MaxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", location, err)
	}
	// Only public keys verify assertions; anything else in a published set is ignored.
	public := &jose.JSONWebKeySet{}
	for _, k := range set.Keys {
		if k.Valid() && k.IsPublic() {
			public.Keys = append(public.Keys, k)
		}
	}
	return public, nil
}
