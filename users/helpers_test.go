package users_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
	"github.com/identityd/identityd/users"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fastParams keep the tests quick: the smallest argon2id setting the hasher accepts.
var fastParams = passwords.Params{Memory: 7 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// baseURL is where the links in the tests' mail point.
const baseURL = "https://id.example.com"

// revocations records what the service asked revokers to end; fail makes the next call
// fail, to show that the change it belongs to rolls back.
type revocations struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (r *revocations) RevokeUser(_ context.Context, _ *store.Tx, userID string, reason users.RevokeReason) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		r.fail = false
		return errors.New("revoker down")
	}
	r.calls = append(r.calls, userID+":"+string(reason))
	return nil
}

func (r *revocations) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// fixture is a users service over a real database, with real hashing, a real audit log,
// and, when asked for, mail sent by real jobs to a real SMTP server.
type fixture struct {
	db      *store.DB
	svc     *users.Service
	hasher  *passwords.Hasher
	kr      *keyring.Keyring
	clock   *testclock.Clock
	smtp    *mailtest.Server // nil without mail
	revoked *revocations
}

type options struct {
	mail     bool
	throttle users.ThrottleConfig
	policy   passwords.Policy
	params   passwords.Params
	// hasher replaces the one newFixture would make from params.
	hasher *passwords.Hasher
}

func defaultOptions() options {
	return options{throttle: users.DefaultThrottle(), policy: passwords.DefaultPolicy(), params: fastParams}
}

func newFixture(t testing.TB, db *store.DB, o options) *fixture {
	t.Helper()
	hasher := o.hasher
	if hasher == nil {
		var err error
		if hasher, err = passwords.New(passwords.Config{Params: o.params}); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{db: db, hasher: hasher, kr: audittest.Keyring(t), revoked: &revocations{},
		clock: testclock.New()}
	log := audittest.NewLog(t, db)
	if err := log.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := users.Deps{DB: db, Keyring: f.kr, Hasher: hasher, Audit: log, Now: f.clock.Now}
	var q *jobs.Queue
	workers := river.NewWorkers()
	if o.mail {
		f.smtp = mailtest.NewServer(t)
		sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: f.smtp.URL(), From: "Example ID <no-reply@example.com>",
			TLSConfig: f.smtp.ClientTLS()})
		if err != nil {
			t.Fatal(err)
		}
		river.AddWorker(workers, mail.NewWorker(f.kr, sender, slog.New(slog.DiscardHandler)))
		if q, err = jobs.New(db, jobs.Config{Workers: workers, Queues: map[string]int{mail.QueueName: 2},
			PollInterval: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if d.Mail, err = mail.NewRenderer("Example ID"); err != nil {
			t.Fatal(err)
		}
		d.Outbox, d.Jobs = mail.NewOutbox(f.kr, q), q
	}
	var err error
	f.svc, err = users.New(d, users.Config{BaseURL: baseURL, Policy: o.policy, VerificationTTL: 24 * time.Hour,
		ResetTTL: time.Hour, Throttle: o.throttle})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.svc.AddRevoker(f.revoked)
	if q != nil {
		// The request worker needs the service, which needs the queue: it joins the
		// workers before the queue starts.
		river.AddWorker(workers, users.NewRequestWorker(f.svc))
		if err := q.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = q.Stop(ctx)
		})
	}
	return f
}

// fromIP is a context of a request from ip.
func fromIP(ip string) context.Context {
	return requestinfo.With(context.Background(), &requestinfo.Info{ClientIP: netip.MustParseAddr(ip)})
}

// create makes a user or fails the test.
func (f *fixture) create(t testing.TB, n users.NewUser) users.User {
	t.Helper()
	u, err := f.svc.Create(context.Background(), n)
	if err != nil {
		t.Fatalf("create %s: %v", n.Email, err)
	}
	return u
}

// storedHash decrypts the user's stored password hash.
func (f *fixture) storedHash(t testing.TB, id string) string {
	t.Helper()
	var enc []byte
	if err := f.db.QueryRow(context.Background(), `SELECT password_enc FROM users WHERE id = $1`, id).Scan(&enc); err != nil {
		t.Fatal(err)
	}
	h, err := f.kr.Decrypt(enc, []byte("password:"+id))
	if err != nil {
		t.Fatalf("decrypt stored hash: %v", err)
	}
	return string(h)
}

// events lists the audit events recorded so far as "type target reason", oldest first.
func events(t testing.TB, db *store.DB) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT type, target_id, details FROM audit_pending ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
		var typ, target, details string
		err := r.Scan(&typ, &target, &details)
		return strings.TrimSpace(typ + " " + target + " " + details), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// nextMail waits for the next message on the fixture's SMTP server.
func (f *fixture) nextMail(t testing.TB) mailtest.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := f.smtp.Next(ctx)
	if err != nil {
		t.Fatalf("no mail arrived: %v", err)
	}
	return m
}

// linkToken follows a link from a message's text: it must lead to path on the issuer,
// and the token it carries is returned.
func linkToken(t testing.TB, m mailtest.Received, path string) string {
	t.Helper()
	link, ok := mailtest.FindLink(m.Text, baseURL+path)
	if !ok {
		t.Fatalf("the message %q has no link to %s:\n%s", m.Subject, path, m.Text)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("the HTML part does not carry the link %s", link)
	}
	return u.Query().Get("token")
}

// waitForJobs waits until no job of kind is waiting or running.
func waitForJobs(t testing.TB, db *store.DB, kind string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		err := db.QueryRow(context.Background(),
			`SELECT count(*) FROM river_job WHERE kind = $1 AND state NOT IN ('completed', 'cancelled', 'discarded')`, kind).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s jobs still unfinished", n, kind)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
