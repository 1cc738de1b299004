package clients

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/identityd/identityd/store"
)

// CacheTTL bounds how long Lookup may serve a client after it changed when no
// notification reached this process on PostgreSQL: one lost while the listening
// connection was down, or Listen not running.
const CacheTTL = 30 * time.Second

// SQLiteCacheTTL is the cache's bound on SQLite, where no notification ever comes: a
// command beside the server — identityd clients rotate-secret, which may be the answer
// to a leaked secret, or clients delete — takes hold within it. Reading each client in
// use once a second is nothing beside the requests the cache spares.
const SQLiteCacheTTL = time.Second

// maxCached bounds the cache. Misses are not cached, so only clients that exist take
// room; beyond this many, entries are evicted so that memory stays bounded however many
// clients there are.
const maxCached = 10_000

// cached is a client as Lookup serves it. It is never changed once made, so readers
// share it without a lock.
type cached struct {
	client  Client
	hash    []byte
	expires time.Time
}

// cache holds clients by id. gen counts invalidations: a reader that fetched a client
// from the database stores it only if no invalidation happened since it started, so a
// change that commits while the read is in flight cannot leave the old client cached.
type cache struct {
	mu      sync.RWMutex
	entries map[string]*cached
	gen     uint64
}

func newCache() *cache { return &cache{entries: map[string]*cached{}} }

// get returns the live entry for id, or nil, and the generation to store a fresh one at.
func (c *cache) get(id string, now time.Time) (*cached, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.entries[id]
	if e != nil && !now.Before(e.expires) {
		e = nil
	}
	return e, c.gen
}

// put stores e for id unless an invalidation came after generation gen.
func (c *cache) put(id string, e *cached, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.entries[id]; !ok && len(c.entries) >= maxCached {
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < maxCached {
				break
			}
			delete(c.entries, k) // map order is random: a random victim
		}
	}
	c.entries[id] = e
}

// invalidate drops id.
func (c *cache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
	c.gen++
}

// flush drops every entry.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
	c.gen++
}

// Lookup returns the client with id, or ErrNotFound, through the cache: for the token
// and authorize endpoints, which read the client on every request. A change made through
// any Service on the same database reaches it at once in this process, through
// PostgreSQL notifications in others (run Listen), and within CacheTTL at worst
// (SQLiteCacheTTL on SQLite). Unknown ids are looked up in the database every time:
// caching misses would let a flood of made-up ids fill memory.
func (s *Service) Lookup(ctx context.Context, id string) (Client, error) {
	e, err := s.entry(ctx, id)
	if err != nil {
		return Client{}, err
	}
	return e.client.clone(), nil
}

// entry returns the cached entry for id, reading it from the database on a miss.
func (s *Service) entry(ctx context.Context, id string) (*cached, error) {
	now := s.now()
	e, gen := s.cache.get(id, now)
	if e != nil {
		return e, nil
	}
	if !plausibleID(id) {
		return nil, ErrNotFound
	}
	c, hash, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("clients: lookup: %w", err)
	}
	// The entry expires its TTL after the read began, so that its age is never
	// underestimated.
	e = &cached{client: c, hash: hash, expires: now.Add(s.ttl)}
	s.cache.put(id, e, gen, now)
	return e, nil
}
