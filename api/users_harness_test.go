package api_test

import (
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/testclock"
	"github.com/identityd/identityd/users"
)

// importMaxBytes is what the tests give the API as Deps.ImportMaxBytes.
const importMaxBytes = 256 << 10

// newUsers builds the account service the API is tested with: real hashing with the
// smallest parameters, and mail queued by an insert-only job queue (sending it is the
// users and mail packages' tests' business).
func newUsers(t testing.TB, db *store.DB, log *audit.Log, c *testclock.Clock) *users.Service {
	t.Helper()
	hasher, err := passwords.New(passwords.Config{Params: passwords.Params{Memory: 7 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	renderer, err := mail.NewRenderer("identityd")
	if err != nil {
		t.Fatal(err)
	}
	kr := audittest.Keyring(t)
	s, err := users.New(users.Deps{DB: db, Keyring: kr, Hasher: hasher, Audit: log, Outbox: mail.NewOutbox(kr, q),
		Mail: renderer, Now: c.Now}, users.Config{BaseURL: "https://id.example.com", Policy: passwords.DefaultPolicy(),
		VerificationTTL: time.Hour, ResetTTL: time.Hour, Throttle: users.DefaultThrottle()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
