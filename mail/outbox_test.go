package mail_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
)

// outboxEnv is an Outbox over a real job queue whose Worker sends to a mailtest server.
type outboxEnv struct {
	db     *store.DB
	kr     *keyring.Keyring
	q      *jobs.Queue
	outbox *mail.Outbox
	srv    *mailtest.Server
	logs   *syncbuf.Buffer
}

func newOutboxEnv(t *testing.T, db *store.DB) *outboxEnv {
	t.Helper()
	kr, err := keyring.New([][]byte{bytes.Repeat([]byte{7}, keyring.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	e := &outboxEnv{db: db, kr: kr, srv: mailtest.NewServer(t), logs: &syncbuf.Buffer{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, mail.NewWorker(kr, newSender(t, e.srv.URL(), e.srv.ClientTLS()), newLogger(e.logs)))
	e.q, err = jobs.New(db, jobs.Config{Workers: workers, MaxWorkers: 1, Queues: map[string]int{mail.QueueName: 2},
		PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.outbox = mail.NewOutbox(kr, e.q)
	if err := e.q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = e.q.Stop(ctx)
	})
	return e
}

// send enqueues m in a transaction of its own that commits.
func (e *outboxEnv) send(t *testing.T, m mail.Message) {
	t.Helper()
	ctx := context.Background()
	if err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.outbox.Send(ctx, tx, m) }); err != nil {
		t.Fatal(err)
	}
}

// mailJobs lists the mail jobs, newest first.
func (e *outboxEnv) mailJobs(t *testing.T) []jobs.Job {
	t.Helper()
	list, err := e.q.List(context.Background(), jobs.ListParams{Kind: mail.SendArgs{}.Kind()})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// storedArgs returns the args of every mail job as JSON text, and as the bytes the
// database stores (SQLite's River keeps them in its binary JSONB).
func (e *outboxEnv) storedArgs(t *testing.T) (asJSON, stored []string) {
	t.Helper()
	query := `SELECT CAST(args AS TEXT), CAST(args AS TEXT) FROM river_job WHERE kind = $1`
	if e.db.Dialect() == store.SQLite {
		query = `SELECT json(args), CAST(args AS BLOB) FROM river_job WHERE kind = $1`
	}
	rows, err := e.db.Query(context.Background(), query, mail.SendArgs{}.Kind())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var j, s []byte
		if err := rows.Scan(&j, &s); err != nil {
			t.Fatal(err)
		}
		asJSON, stored = append(asJSON, string(j)), append(stored, string(s))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return asJSON, stored
}

// checkPrivate fails if s shows anything of the message but the recipient's domain.
func checkPrivate(t *testing.T, what, s, token string) {
	t.Helper()
	for _, secret := range []string{token, "zoe.mueller", "Zoë", "Bestätigen", "Hallo"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows %q:\n%s", what, secret, s)
		}
	}
}

func TestOutboxSendsAfterCommitAndNeverAfterRollback(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		e := newOutboxEnv(t, db)
		ctx := context.Background()
		rolledBack := testMessage("tok-rolled-back")
		refused := errors.New("change refused")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := e.outbox.Send(ctx, tx, rolledBack); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatal(err)
		}
		m := testMessage("tok-committed")
		e.send(t, m)

		r := next(t, e.srv)
		if r.Text != m.Text || r.HTML != m.HTML || r.Subject != m.Subject || r.To[0] != "zoe.mueller@example.org" {
			t.Errorf("received %+v, want the committed message", r)
		}
		waitFor(t, "the job to complete", 10*time.Second, func() bool {
			list := e.mailJobs(t)
			return len(list) == 1 && list[0].State == "completed"
		})
		time.Sleep(300 * time.Millisecond) // room for a stray second delivery to show
		if got := e.srv.Messages(); len(got) != 1 {
			t.Errorf("%d messages delivered, want only the committed one", len(got))
		}

		asJSON, stored := e.storedArgs(t)
		if len(asJSON) != 1 || !regexp.MustCompile(`^\{"sealed": ?"[A-Za-z0-9+/=]+"\}$`).MatchString(asJSON[0]) {
			t.Fatalf("stored args %q, want one sealed message and nothing else", asJSON)
		}
		checkPrivate(t, "the job's args", asJSON[0], "tok-committed")
		checkPrivate(t, "the job's stored args", stored[0], "tok-committed")
		checkPrivate(t, "the worker's log", e.logs.String(), "tok-committed")
		for _, want := range []string{`"msg":"mail: sent"`, `"recipient_domain":"example.org"`, `"job_id":`} {
			if !strings.Contains(e.logs.String(), want) {
				t.Errorf("worker log lacks %s:\n%s", want, e.logs.String())
			}
		}
	})
}

func TestATransientRefusalIsRetriedAndDeliveredOnce(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		e := newOutboxEnv(t, db)
		e.srv.FailNext(1, 451)
		m := testMessage("tok-retry")
		e.send(t, m)
		r := next(t, e.srv)
		if r.Text != m.Text {
			t.Errorf("received %q", r.Text)
		}
		var job jobs.Job
		waitFor(t, "the job to complete", 10*time.Second, func() bool {
			list := e.mailJobs(t)
			if len(list) == 1 {
				job = list[0]
			}
			return job.State == "completed"
		})
		time.Sleep(300 * time.Millisecond)
		if n, rejected := len(e.srv.Messages()), e.srv.Rejected(); n != 1 || rejected != 1 {
			t.Errorf("%d delivered and %d refused, want 1 and 1", n, rejected)
		}
		if job.Attempt != 2 || job.MaxAttempts != mail.MaxAttempts || len(job.Errors) != 1 ||
			!strings.Contains(job.Errors[0], "RCPT TO: 451") {
			t.Errorf("job %+v, want completed at the second of %d attempts after one 451", job, mail.MaxAttempts)
		}
		for _, e := range job.Errors {
			checkPrivate(t, "the job's recorded error", e, "tok-retry")
		}
		checkPrivate(t, "the worker's log", e.logs.String(), "tok-retry")
		if !strings.Contains(e.logs.String(), "mail: attempt failed; will retry") {
			t.Errorf("the failed attempt was not logged:\n%s", e.logs.String())
		}
	})
}

func TestAPermanentRefusalCancelsTheJob(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		e := newOutboxEnv(t, db)
		e.srv.FailNext(1, 550)
		m := testMessage("tok-unknown-user")
		e.send(t, m)
		var job jobs.Job
		waitFor(t, "the job to be cancelled", 10*time.Second, func() bool {
			list := e.mailJobs(t)
			if len(list) == 1 {
				job = list[0]
			}
			return job.State == "cancelled"
		})
		time.Sleep(1500 * time.Millisecond) // past River's first retry, were there one
		if n, rejected := len(e.srv.Messages()), e.srv.Rejected(); n != 0 || rejected != 1 {
			t.Errorf("%d delivered and %d refused, want 0 and 1: no retry", n, rejected)
		}
		if job.Attempt != 1 || len(job.Errors) != 1 || !strings.Contains(job.Errors[0], "rejected permanently") {
			t.Errorf("job %+v, want cancelled after one attempt", job)
		}
		checkPrivate(t, "the job's recorded error", strings.Join(job.Errors, "\n"), "tok-unknown-user")
		if !strings.Contains(e.logs.String(), "mail: message rejected; not retrying") {
			t.Errorf("the rejection was not logged:\n%s", e.logs.String())
		}
	})
}

func TestAnAlteredOrForeignSealIsCancelledUnsent(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		e := newOutboxEnv(t, db)
		ctx := context.Background()
		plain := []byte(`{"to":"zoe@example.org","subject":"Hi","text":"https://evil.example"}`)
		// Sealed under the right key for another purpose: the AAD does not match.
		foreign, err := e.kr.Encrypt(plain, []byte("webhook_subscriptions:1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, sealed := range [][]byte{foreign, []byte("not sealed at all")} {
			if err := db.Tx(ctx, func(tx *store.Tx) error {
				_, err := e.q.Enqueue(ctx, tx, mail.SendArgs{Sealed: sealed}, nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "both jobs to be cancelled", 10*time.Second, func() bool {
			list := e.mailJobs(t)
			return len(list) == 2 && list[0].State == "cancelled" && list[1].State == "cancelled"
		})
		if len(e.srv.Messages()) != 0 || len(e.srv.AuthAttempts()) != 0 {
			t.Error("a message that does not open was sent")
		}
	})
}

func TestOutboxRefusesInvalidMessagesAndEnqueuesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		kr, err := keyring.New([][]byte{bytes.Repeat([]byte{7}, keyring.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(db, jobs.Config{}) // insert-only: nothing here may be worked
		if err != nil {
			t.Fatal(err)
		}
		outbox := mail.NewOutbox(kr, q)
		ctx := context.Background()
		count := func() int {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = $1`, mail.SendArgs{}.Kind()).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := count()
		for name, m := range map[string]mail.Message{
			"to injection":      {To: "zoe@example.org\r\nBcc: all@example.net", Subject: "Hello", Text: "x"},
			"subject injection": {To: "zoe@example.org", Subject: "Hello\r\nBcc: all@example.net", Text: "x"},
			"two recipients":    {To: "zoe@example.org, all@example.net", Subject: "Hello", Text: "x"},
			"empty body":        {To: "zoe@example.org", Subject: "Hello"},
		} {
			err := db.Tx(ctx, func(tx *store.Tx) error { return outbox.Send(ctx, tx, m) })
			if err == nil || !strings.HasPrefix(err.Error(), "mail: outbox: ") {
				t.Errorf("%s: Send returned %v, want a refusal", name, err)
			}
		}
		if after := count(); after != before {
			t.Errorf("%d mail jobs enqueued for invalid messages", after-before)
		}
	})
}
