// Package flows keeps login flows: the server-side state of a sign-in, from the page that
// starts it to the session it ends in.
//
// A flow is a small state machine. It starts waiting for credentials (an identifier and a
// password, checked together so that neither step alone tells whether an account
// exists); a right password either finishes it or, for a user who must show a second
// factor, moves it to the second-factor step with the user now known. Finishing takes the
// flow away, so it completes once.
//
// A flow is bound to the browser that started it: the browser keeps a random secret in a
// cookie, and the flow holds the secret's SHA-256. A flow id without that cookie — seen
// in a log or a shared link, or planted in someone's browser to sign them in to an
// account of the attacker's (login CSRF) — is worthless.
package flows

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/store"
)

// State is the step a flow waits for.
type State string

// The states.
const (
	// StateCredentials waits for an identifier and a password.
	StateCredentials State = "credentials"
	// StateSecondFactor waits for the known user's second factor.
	StateSecondFactor State = "second_factor"
)

// DefaultTTL is how long a flow lasts: long enough to find a password manager or a
// security key, short enough that a forgotten tab's flow does not linger.
const DefaultTTL = 15 * time.Minute

// ErrNotFound means no live flow has the id for this browser: unknown, expired, finished,
// or started in another browser. The cases are not told apart.
var ErrNotFound = errors.New("flows: no such flow")

// Flow is one sign-in in progress.
type Flow struct {
	ID    string
	State State
	// UserID is the user whose password was right, from StateSecondFactor on.
	UserID string
	// Methods are the authentication methods done so far (RFC 8176 amr values).
	Methods []string
	// Remember is the person's "keep me signed in".
	Remember bool
	// ReturnTo is where the browser goes when the flow finishes: a same-origin path.
	ReturnTo  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Service keeps flows in the database.
type Service struct {
	db  *store.DB
	now func() time.Time
	ttl time.Duration
}

// New returns a Service over db whose flows last ttl (DefaultTTL when zero); now is the
// clock.
func New(db *store.DB, now func() time.Time, ttl time.Duration) *Service {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Service{db: db, now: now, ttl: ttl}
}

// idBytes is the entropy of a flow id: guessing one is hopeless, and it would be
// worthless without the browser's secret anyway.
const idBytes = 16

// NewBrowserSecret makes the secret a browser keeps to bind its flows (and, in the
// pages, its forms) to itself.
func NewBrowserSecret() string { return random(32) }

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails short; it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidBrowserSecret reports whether secret could be one NewBrowserSecret made.
func ValidBrowserSecret(secret string) bool {
	b, err := base64.RawURLEncoding.DecodeString(secret)
	return err == nil && len(b) == 32
}

func browserHash(secret string) []byte {
	h := sha256.Sum256([]byte("identityd flow browser:" + secret))
	return h[:]
}

// Start begins a flow for the browser holding browser, to end at returnTo, which must
// have passed SafeReturnTo.
func (s *Service) Start(ctx context.Context, browser, returnTo string) (Flow, error) {
	if !ValidBrowserSecret(browser) {
		return Flow{}, errors.New("flows: start: malformed browser secret")
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	f := Flow{ID: random(idBytes), State: StateCredentials, Methods: []string{}, ReturnTo: returnTo,
		CreatedAt: now, ExpiresAt: now.Add(s.ttl)}
	_, err := s.db.Exec(ctx, `INSERT INTO login_flows (id, browser_hash, state, methods, remember, return_to, created_at, expires_at)
		VALUES ($1, $2, $3, '[]', $4, $5, $6, $7)`, f.ID, browserHash(browser), string(f.State), false, f.ReturnTo, f.CreatedAt, f.ExpiresAt)
	if err != nil {
		return Flow{}, fmt.Errorf("flows: start: %w", err)
	}
	return f, nil
}

// validID reports whether id could be one Start made; others cost no round trip.
func validID(id string) bool {
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == idBytes
}

const flowColumns = `id, browser_hash, state, COALESCE(user_id, ''), methods, remember, return_to, created_at, expires_at`

func scan(r interface{ Scan(...any) error }) (Flow, []byte, error) {
	var (
		f       Flow
		hash    []byte
		state   string
		methods string
	)
	err := r.Scan(&f.ID, &hash, &state, &f.UserID, &methods, &f.Remember, &f.ReturnTo, &f.CreatedAt, &f.ExpiresAt)
	if err != nil {
		return Flow{}, nil, err
	}
	f.State = State(state)
	if err := json.Unmarshal([]byte(methods), &f.Methods); err != nil {
		return Flow{}, nil, fmt.Errorf("flows: methods of flow %s: %w", f.ID, err)
	}
	return f, hash, nil
}

// Get returns the live flow id of the browser holding browser.
func (s *Service) Get(ctx context.Context, id, browser string) (Flow, error) {
	if !validID(id) || !ValidBrowserSecret(browser) {
		return Flow{}, ErrNotFound
	}
	f, hash, err := scan(s.db.QueryRow(ctx, `SELECT `+flowColumns+` FROM login_flows WHERE id = $1`, id))
	if errors.Is(err, store.ErrNotFound) {
		return Flow{}, ErrNotFound
	}
	if err != nil {
		return Flow{}, fmt.Errorf("flows: get: %w", err)
	}
	if subtle.ConstantTimeCompare(hash, browserHash(browser)) != 1 || !s.now().Before(f.ExpiresAt) {
		return Flow{}, ErrNotFound
	}
	return f, nil
}

// AwaitSecondFactor moves a flow waiting for credentials to the second-factor step, now
// that userID's password was right; methods are what was done ("pwd").
func (s *Service) AwaitSecondFactor(ctx context.Context, id, browser, userID string, methods []string, remember bool) (Flow, error) {
	f, err := s.Get(ctx, id, browser)
	if err != nil {
		return Flow{}, err
	}
	m, _ := json.Marshal(methods) // a []string always marshals
	n, err := s.db.Exec(ctx, `UPDATE login_flows SET state = $2, user_id = $3, methods = $4, remember = $5
		WHERE id = $1 AND state = $6`, id, string(StateSecondFactor), userID, string(m), remember, string(StateCredentials))
	if err != nil {
		return Flow{}, fmt.Errorf("flows: await second factor: %w", err)
	}
	if n == 0 {
		return Flow{}, ErrNotFound
	}
	f.State, f.UserID, f.Methods, f.Remember = StateSecondFactor, userID, methods, remember
	return f, nil
}

// Finish takes the flow away and returns it, so that it completes once: of two requests
// racing to finish one flow, only one gets it.
func (s *Service) Finish(ctx context.Context, id, browser string) (Flow, error) {
	if _, err := s.Get(ctx, id, browser); err != nil {
		return Flow{}, err
	}
	var f Flow
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		f, _, err = scan(tx.QueryRow(ctx, `DELETE FROM login_flows WHERE id = $1 AND browser_hash = $2 RETURNING `+flowColumns,
			id, browserHash(browser)))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Flow{}, ErrNotFound
	}
	if err != nil {
		return Flow{}, fmt.Errorf("flows: finish: %w", err)
	}
	return f, nil
}

// DeleteExpired deletes flows that expired before now, batch rows at a time, and reports
// how many went.
func (s *Service) DeleteExpired(ctx context.Context, batch int) (int64, error) {
	var total int64
	for {
		n, err := s.db.Exec(ctx, `DELETE FROM login_flows WHERE id IN (SELECT id FROM login_flows WHERE expires_at <= $1 LIMIT $2)`,
			s.now(), batch)
		if err != nil {
			return total, fmt.Errorf("flows: delete expired: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
