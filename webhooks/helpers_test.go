package webhooks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/webhooks"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// testKey is the encryption key of the tests' keyrings.
var testKey = bytes.Repeat([]byte{7}, 32)

// fastConfig is the delivery configuration most tests use: receivers on loopback, quick
// retries, short attempts.
func fastConfig() webhooks.Config {
	return webhooks.Config{AllowPrivateNetworks: true, RetryBase: 50 * time.Millisecond, Timeout: 300 * time.Millisecond}
}

// env is a webhooks service with everything around it: the audit log it records into,
// a sealer whose OnSealed dispatches, and a job queue with the delivery worker.
type env struct {
	db     *store.DB
	kr     *keyring.Keyring
	log    *audit.Log
	svc    *webhooks.Service
	q      *jobs.Queue
	sealer *audit.Sealer

	mu     sync.Mutex
	sealed []audit.Event // every event OnSealed was given
}

func newEnv(t *testing.T, db *store.DB, cfg webhooks.Config) *env {
	t.Helper()
	kr, err := keyring.New([][]byte{testKey})
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(db, kr, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, kr: kr, log: l, svc: webhooks.New(db, kr, l, cfg, time.Now)}
	workers := river.NewWorkers()
	river.AddWorker(workers, webhooks.NewWorker(e.svc))
	e.q, err = jobs.New(db, jobs.Config{Workers: workers, MaxWorkers: 1, Queues: map[string]int{webhooks.QueueName: 4},
		PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.sealer = audit.NewSealer(l, nil, audit.SealerConfig{OnSealed: func(ctx context.Context, tx *store.Tx, evs []audit.Event) error {
		if err := e.svc.Dispatch(ctx, tx, e.q, evs); err != nil {
			return err
		}
		e.mu.Lock()
		e.sealed = append(e.sealed, evs...)
		e.mu.Unlock()
		return nil
	}})
	return e
}

// start works the queue until the test ends.
func (e *env) start(t *testing.T) {
	t.Helper()
	if err := e.q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = e.q.Stop(ctx)
	})
}

// record records each event in a transaction of its own.
func (e *env) record(t *testing.T, evs ...audit.Event) {
	t.Helper()
	ctx := context.Background()
	for _, ev := range evs {
		if err := e.db.Tx(ctx, func(tx *store.Tx) error { return e.log.Record(ctx, tx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
}

// seal seals what is pending, dispatching it.
func (e *env) seal(t *testing.T) {
	t.Helper()
	if _, err := e.sealer.Seal(context.Background()); err != nil {
		t.Fatalf("seal: %v", err)
	}
}

func (e *env) sealedEvents() []audit.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]audit.Event(nil), e.sealed...)
}

func (e *env) create(t *testing.T, url string, types ...string) (webhooks.Subscription, string) {
	t.Helper()
	sub, secret, err := e.svc.Create(context.Background(), url, types)
	if err != nil {
		t.Fatalf("create %s: %v", url, err)
	}
	return sub, secret
}

func (e *env) deliveries(t *testing.T, subID string) []webhooks.Delivery {
	t.Helper()
	p, err := e.svc.Deliveries(context.Background(), subID, webhooks.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	return p.Deliveries
}

// allDone reports whether every delivery of subID is past pending, and there are n.
func (e *env) allDone(t *testing.T, subID string, n int) bool {
	ds := e.deliveries(t, subID)
	if len(ds) != n {
		return false
	}
	for _, d := range ds {
		if d.Status == webhooks.StatusPending {
			return false
		}
	}
	return true
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// request is one request a receiver got.
type request struct {
	at                       time.Time
	id, timestamp, signature string
	header                   http.Header
	body                     []byte
}

// receiver is a webhook endpoint on loopback. It answers 500 to the first failFirst
// attempts of each webhook-id, then 204; answer, when set, decides instead.
type receiver struct {
	srv       *httptest.Server
	failFirst int
	answer    func(w http.ResponseWriter, r *http.Request) // nil: the default above

	mu       sync.Mutex
	requests []request
	accepted map[string]int // webhook-id → 2xx answers given
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	t.Helper()
	return newAnsweringReceiver(t, failFirst, nil)
}

func newAnsweringReceiver(t *testing.T, failFirst int, answer func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{failFirst: failFirst, answer: answer, accepted: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := request{at: time.Now(), id: r.Header.Get("webhook-id"), timestamp: r.Header.Get("webhook-timestamp"),
		signature: r.Header.Get("webhook-signature"), header: r.Header.Clone(), body: body}
	rc.mu.Lock()
	rc.requests = append(rc.requests, req)
	n := 0
	for _, q := range rc.requests {
		if q.id == req.id {
			n++
		}
	}
	accept := rc.answer == nil && n > rc.failFirst
	if accept {
		rc.accepted[req.id]++
	}
	rc.mu.Unlock()
	switch {
	case rc.answer != nil:
		rc.answer(w, r)
	case accept:
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "not today", http.StatusInternalServerError)
	}
}

func (rc *receiver) url() string { return rc.srv.URL + "/hook" }

func (rc *receiver) got() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.requests...)
}

func (rc *receiver) acceptedIDs() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]int{}
	for k, v := range rc.accepted {
		out[k] = v
	}
	return out
}

// verifyStandardWebhook checks a request the way a Standard Webhooks receiver does,
// written from the spec and independent of the package: the signed content is
// "<webhook-id>.<webhook-timestamp>.<body>", the key is the base64 after "whsec_",
// the header holds space-separated "v1,<base64 HMAC-SHA256>" signatures, and the
// timestamp must be within five minutes of now.
func verifyStandardWebhook(secret string, r request) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return false
	}
	ts, err := strconv.ParseInt(r.timestamp, 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.id + "." + r.timestamp + "." + string(r.body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.signature) {
		version, value, ok := strings.Cut(sig, ",")
		if ok && version == "v1" && hmac.Equal([]byte(value), []byte(want)) {
			return true
		}
	}
	return false
}
