package sessions_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
	"github.com/identityd/identityd/users"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fastParams keep password hashing quick: the smallest argon2id setting the hasher takes.
var fastParams = passwords.Params{Memory: 7 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// fixture is a sessions service over a real database with a real audit log, beside a
// real users service that ends sessions through it.
type fixture struct {
	db    *store.DB
	clock *testclock.Clock
	svc   *sessions.Service
	users *users.Service
}

func newFixture(t testing.TB, db *store.DB, cfg sessions.Config) *fixture {
	t.Helper()
	f := &fixture{db: db, clock: testclock.New()}
	log := audittest.NewLog(t, db)
	var err error
	if f.svc, err = sessions.New(db, log, f.clock.Now, cfg); err != nil {
		t.Fatal(err)
	}
	hasher, err := passwords.New(passwords.Config{Params: fastParams})
	if err != nil {
		t.Fatal(err)
	}
	f.users, err = users.New(users.Deps{DB: db, Keyring: audittest.Keyring(t), Hasher: hasher, Audit: log, Now: f.clock.Now},
		users.Config{BaseURL: "https://id.example.com", Policy: passwords.DefaultPolicy(), VerificationTTL: 24 * time.Hour,
			ResetTTL: time.Hour, Throttle: users.DefaultThrottle()})
	if err != nil {
		t.Fatal(err)
	}
	f.users.AddRevoker(f.svc)
	return f
}

// browser is the context of a request from a browser, as the server's middleware makes
// it.
func browser() context.Context {
	return requestinfo.With(context.Background(), &requestinfo.Info{ID: "req-1",
		ClientIP: netip.MustParseAddr("203.0.113.7"), UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Firefox/140.0"})
}

// newUser makes an active user and returns their id.
func (f *fixture) newUser(t testing.TB) string {
	t.Helper()
	u, err := f.users.Create(context.Background(), users.NewUser{Email: store.NewID() + "@example.com", Name: "Ada",
		Source: users.SourceAPI})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// establish signs userID in with a password, in a browser that held previous.
func (f *fixture) establish(t testing.TB, previous, userID string, remember bool) (string, sessions.Session) {
	t.Helper()
	tok, sess, err := f.svc.Establish(browser(), previous, userID, sessions.Auth{Methods: []string{"pwd"}, Remember: remember})
	if err != nil {
		t.Fatalf("establish: %v", err)
	}
	return tok, sess
}

// live reports whether token names a live session, failing the test on any answer but
// a session or ErrNotFound.
func (f *fixture) live(t testing.TB, token string) bool {
	t.Helper()
	_, err := f.svc.Lookup(context.Background(), token)
	if err != nil && !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("lookup: %v", err)
	}
	return err == nil
}

// mustLive fails the test unless every token names a live session.
func (f *fixture) mustLive(t testing.TB, what string, tokens ...string) {
	t.Helper()
	for i, tok := range tokens {
		if !f.live(t, tok) {
			t.Fatalf("%s: session %d of %d has ended; want it live", what, i+1, len(tokens))
		}
	}
}

// mustEnded fails the test unless no token names a live session.
func (f *fixture) mustEnded(t testing.TB, what string, tokens ...string) {
	t.Helper()
	for i, tok := range tokens {
		if f.live(t, tok) {
			t.Fatalf("%s: session %d of %d is live; want it ended", what, i+1, len(tokens))
		}
	}
}

// lastSeen reads a session's last_seen_at from the database.
func lastSeen(t testing.TB, db *store.DB, id string) time.Time {
	t.Helper()
	var at time.Time
	if err := db.QueryRow(context.Background(), `SELECT last_seen_at FROM sessions WHERE id = $1`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

// countSessions counts the rows a user has in the sessions table, live or not.
func countSessions(t testing.TB, db *store.DB, userID string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// events lists the session events recorded so far that mention userID, oldest first, as
// "type target actor details".
func events(t testing.TB, db *store.DB, userID string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(),
		`SELECT type, target_kind, target_id, actor_kind, actor_id, details FROM audit_pending WHERE type LIKE 'session.%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
		var typ, targetKind, targetID, actorKind, actorID, details string
		err := r.Scan(&typ, &targetKind, &targetID, &actorKind, &actorID, &details)
		return strings.Join([]string{typ, targetKind + ":" + targetID, actorKind + ":" + actorID, details}, " "), err
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range all {
		if strings.Contains(e, userID) {
			out = append(out, e)
		}
	}
	return out
}

// sameEvents fails the test unless got are want.
func sameEvents(t testing.TB, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit events, oldest first:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
