package oauth

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/identityd/identityd/store"
)

// Revocation keys. A JWT access token is self-contained, so revoking it — or its grant,
// its user's tokens, or a consent — writes one key here instead of touching a token row:
//   - jtiKey(jti): that token;
//   - grantKey(request id): every token of the grant (a refresh token revoked or reused,
//     a code used twice);
//   - userKey(user): every token of the user's issued up to the revocation (password
//     reset, disable, sessions revoked by an admin);
//   - consentKey(user, client): every token the client got for the user up to then;
//   - sessionKey(session): every token issued in a sign-in session an admin ended.
//
// A key is kept until every token it can cover has expired (the longest access token
// lifetime after the revocation), so the list stays bounded.
func jtiKey(jti string) string                  { return "jti:" + jti }
func grantKey(requestID string) string          { return "grant:" + requestID }
func userKey(userID string) string              { return "user:" + userID }
func consentKey(userID, clientID string) string { return "consent:" + userID + ":" + clientID }
func sessionKey(sessionID string) string        { return "session:" + sessionID }

// revocationChannel is the PostgreSQL channel a new revocation is announced on, so that
// every replica's list learns it at once.
const revocationChannel = "identityd_oauth_revocations"

// revocations is the revocation list, held in memory so that checking a token costs no
// database read: loaded at start, kept current by this process's own revocations, by
// NOTIFY from other replicas, and by a full reload every reloadEvery as a safety net.
type revocations struct {
	db          *store.DB
	now         func() time.Time
	keep        time.Duration // how long a key is kept after its revocation
	reloadEvery time.Duration

	mu   sync.RWMutex
	keys map[string]time.Time // key → revoked at
}

func newRevocations(db *store.DB, now func() time.Time, keep time.Duration) *revocations {
	return &revocations{db: db, now: now, keep: keep, reloadEvery: 30 * time.Second, keys: map[string]time.Time{}}
}

// revoked reports whether a token with these keys, issued at iat, is revoked.
func (r *revocations) revoked(jti, userID, clientID, sessionID string, iat time.Time) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if _, ok := r.keys[jtiKey(jti)]; ok {
		return true
	}
	if _, ok := r.keys[grantKey(grantOf(jti))]; ok {
		return true
	}
	if sessionID != "" {
		if _, ok := r.keys[sessionKey(sessionID)]; ok {
			return true
		}
	}
	if userID == "" {
		return false
	}
	for _, k := range []string{userKey(userID), consentKey(userID, clientID)} {
		if at, ok := r.keys[k]; ok && !iat.After(at) {
			return true
		}
	}
	return false
}

// add records key as revoked now, in q (a transaction, or the database), announces it to
// the other replicas in the same transaction, and returns a function that puts it in
// this process's list: call it once q has committed.
func (r *revocations) add(ctx context.Context, q store.Queryer, key string) (func(), error) {
	now := r.now().UTC().Truncate(time.Microsecond)
	_, err := q.Exec(ctx, `INSERT INTO oauth_revocations (key, revoked_at, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET revoked_at = excluded.revoked_at, expires_at = excluded.expires_at`,
		key, now, now.Add(r.keep))
	if err != nil {
		return nil, err
	}
	if r.db.Dialect() == store.Postgres {
		if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, revocationChannel, key); err != nil {
			return nil, err
		}
	}
	return func() { r.learn(key, now) }, nil
}

// learn puts a revocation in the list.
func (r *revocations) learn(key string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.keys[key]; !ok || at.After(old) {
		r.keys[key] = at
	}
}

// load replaces the list with the database's.
func (r *revocations) load(ctx context.Context) error {
	rows, err := r.db.Query(ctx, `SELECT key, revoked_at FROM oauth_revocations WHERE expires_at > $1`, r.now())
	if err != nil {
		return err
	}
	keys := map[string]time.Time{}
	for rows.Next() {
		var (
			k  string
			at time.Time
		)
		if err := rows.Scan(&k, &at); err != nil {
			rows.Close()
			return err
		}
		keys[k] = at
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	r.keys = keys
	r.mu.Unlock()
	return nil
}

// lookup learns one key from the database, as announced by another replica.
func (r *revocations) lookup(ctx context.Context, key string) error {
	var at time.Time
	err := r.db.QueryRow(ctx, `SELECT revoked_at FROM oauth_revocations WHERE key = $1`, key).Scan(&at)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.learn(key, at)
	return nil
}

// run keeps the list current until ctx ends: a full reload every reloadEvery, and on
// PostgreSQL every key other replicas announce as they commit it.
func (r *revocations) run(ctx context.Context, log *slog.Logger) {
	if r.db.Dialect() == store.Postgres {
		go r.listen(ctx, log)
	}
	tick := time.NewTicker(r.reloadEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := r.load(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "oauth: could not reload the revocation list", slog.String("error", err.Error()))
			}
		}
	}
}

// listen follows revocationChannel: a key announced is looked up at once, and after a
// lost connection the whole list is reloaded, since announcements may have been missed
// meanwhile.
func (r *revocations) listen(ctx context.Context, log *slog.Logger) {
	r.db.Listen(ctx, store.Subscription{Channel: revocationChannel, Logger: log, Synced: r.load, Notified: r.lookup})
}

// deleteExpired forgets keys whose tokens have all expired, batch rows at a time.
func (r *revocations) deleteExpired(ctx context.Context, batch int) (int64, error) {
	var total int64
	for {
		n, err := r.db.Exec(ctx, `DELETE FROM oauth_revocations WHERE key IN
			(SELECT key FROM oauth_revocations WHERE expires_at <= $1 LIMIT $2)`, r.now(), batch)
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			break
		}
	}
	return total, r.load(ctx)
}
