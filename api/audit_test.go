package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/webhooks"
)

func TestAdminTokenChangesThroughTheAPIAreAuditedWithTheirActor(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		created := a.createToken(t, `{"name":"audited"}`)
		wantStatus(t, a.call(t, http.MethodDelete, "/v1/admin-tokens/"+created.ID, ""), http.StatusNoContent, nil)
		a.do(t, request{method: http.MethodGet, target: "/v1/status",
			header: http.Header{"Authorization": {"Bearer idd_admin_" + strings.Repeat("A", 43)}}})

		var page struct{ Items []api.AuditEvent }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/events?target=admin_token:"+created.ID, ""), http.StatusOK, &page)
		if len(page.Items) != 2 || page.Items[0].Type != audit.TypeAdminTokenRevoked || page.Items[1].Type != audit.TypeAdminTokenCreated {
			t.Fatalf("events for the token: %+v", page.Items)
		}
		harness, err := a.tokens.Verify(context.Background(), a.token)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.Actor.Kind != "admin_token" || e.Actor.ID != harness.ID {
				t.Errorf("%s actor = %+v, want the admin token that called", e.Type, e.Actor)
			}
		}
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/events?type=admin.auth.failed", ""), http.StatusOK, &page)
		if len(page.Items) != 1 || page.Items[0].Outcome != "failure" || page.Items[0].Target.ID != "get-status" {
			t.Fatalf("refused token events: %+v", page.Items)
		}
	})
}

func TestAuditEventListFiltersAndPagesNewestFirst(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		for i := range 5 {
			a.createToken(t, fmt.Sprintf(`{"name":"t%d"}`, i))
		}
		var all []api.AuditEvent
		next := "/v1/audit/events?type=admin.token.created&limit=2"
		for next != "" {
			res := a.call(t, http.MethodGet, next, "")
			var page struct{ Items []api.AuditEvent }
			wantStatus(t, res, http.StatusOK, &page)
			all = append(all, page.Items...)
			next = ""
			if link := res.header.Get("Link"); link != "" {
				next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
				if !strings.Contains(next, "type=admin.token.created") {
					t.Fatalf("the next link %q dropped the filter", link)
				}
			}
		}
		// Five through the API, and the harness's own token.
		if len(all) != 6 {
			t.Fatalf("paged %d admin.token.created events, want 6", len(all))
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first: %s after %s", all[i].ID, all[i-1].ID)
			}
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		var page struct{ Items []api.AuditEvent }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/events?since="+future, ""), http.StatusOK, &page)
		if len(page.Items) != 0 {
			t.Fatalf("events since an hour from now: %d", len(page.Items))
		}
	})
}

func TestAuditEventListRefusesBadFiltersCursorsAndLimits(t *testing.T) {
	a := newAPI(t, storetest.SQLite(t))
	for target, status := range map[string]int{
		"/v1/audit/events?type=Admin.Token":                                      http.StatusUnprocessableEntity,
		"/v1/audit/events?type=admin..token":                                     http.StatusUnprocessableEntity,
		"/v1/audit/events?actor=robot:x":                                         http.StatusUnprocessableEntity,
		"/v1/audit/events?target=:x":                                             http.StatusUnprocessableEntity,
		"/v1/audit/events?outcome=maybe":                                         http.StatusUnprocessableEntity,
		"/v1/audit/events?since=yesterday":                                       http.StatusUnprocessableEntity,
		"/v1/audit/events?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z": http.StatusUnprocessableEntity,
		"/v1/audit/events?limit=0":                                               http.StatusUnprocessableEntity,
		"/v1/audit/events?limit=100000":                                          http.StatusUnprocessableEntity,
		"/v1/audit/events?limit=ten":                                             http.StatusUnprocessableEntity,
		"/v1/audit/events?cursor=!!!":                                            http.StatusBadRequest,
		"/v1/audit/events?cursor=bm90LWFuLWlk":                                   http.StatusBadRequest,
		"/v1/audit/events?type=" + strings.Repeat("a", 200):                      http.StatusUnprocessableEntity,
	} {
		t.Run(target, func(t *testing.T) { wantProblem(t, a.call(t, http.MethodGet, target, ""), status) })
	}
}

func TestVerifyThroughTheAPIReportsTheFirstBrokenLink(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		a.createToken(t, `{"name":"one"}`)
		a.createToken(t, `{"name":"two"}`)
		if _, err := audit.NewSealer(audittest.NewLog(t, db), nil, audit.SealerConfig{}).Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
		var rep api.VerifyReport
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/verify", ""), http.StatusOK, &rep)
		if !rep.OK || rep.Events < 3 || rep.Problem != nil {
			t.Fatalf("untouched log: %+v", rep)
		}
		if _, err := db.Exec(context.Background(), `UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, a.call(t, http.MethodGet, "/v1/audit/verify", ""), http.StatusOK, &rep)
		if rep.OK || rep.Problem == nil || rep.Problem.Kind != "modified" || rep.Problem.Seq != 2 {
			t.Fatalf("tampered log: %+v", rep)
		}
	})
}

// streamAPI serves the API on a real listener with a running sealer, so streams can be
// read as clients read them.
type streamAPI struct {
	url      string
	token    string
	db       *store.DB
	log      *audit.Log
	shutdown chan struct{}
}

func newStreamAPI(t *testing.T, db *store.DB, deps func(*api.Deps)) *streamAPI {
	t.Helper()
	return newReplica(t, db, true, deps)
}

// newReplica serves the API over db as one replica of identityd would, with a sealer of
// its own when sealing.
func newReplica(t *testing.T, db *store.DB, sealing bool, deps func(*api.Deps)) *streamAPI {
	t.Helper()
	log := audittest.NewLog(t, db)
	hub := audit.NewHub()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if sealing {
		go audit.NewSealer(log, hub, audit.SealerConfig{Interval: 20 * time.Millisecond}).Run(ctx)
	}
	go hub.Listen(ctx, log, discardLogger())
	m, err := store.NewMigrator(db)
	if err != nil {
		t.Fatal(err)
	}
	tokens := admintokens.New(db, time.Now, log)
	secret, _, err := tokens.Create(context.Background(), "streams", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s := &streamAPI{token: secret, db: db, log: log, shutdown: make(chan struct{})}
	d := api.Deps{DB: db, Migrator: m, AdminTokens: tokens, Audit: log, AuditHub: hub, Shutdown: s.shutdown,
		Webhooks: webhooks.New(db, audittest.Keyring(t), log, webhooks.Config{}, time.Now),
		Version:  "test", BodyLimit: bodyLimit, Logger: discardLogger()}
	if deps != nil {
		deps(&d)
	}
	mux := http.NewServeMux()
	api.Register(mux, d)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	if sealing {
		// Let the token's own event be sealed, so streams start after it.
		s.waitSealed(t)
	}
	return s
}

func (s *streamAPI) waitSealed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rep, err := s.log.Verify(context.Background())
		if err == nil && rep.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events not sealed: %+v %v", rep, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *streamAPI) record(t *testing.T, evs ...audit.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := s.log.RecordNow(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// sseEvent is one message of a stream.
type sseEvent struct {
	id    int64
	typ   string
	event api.AuditEvent
}

// subscriber reads a stream in the background.
type subscriber struct {
	resp   *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

func (s *streamAPI) subscribe(t *testing.T, query, lastEventID string) *subscriber {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/v1/audit/stream?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	sub := &subscriber{resp: resp, events: make(chan sseEvent, 1000), cancel: cancel}
	go func() {
		defer close(sub.events)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.typ != "" {
					sub.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				cur.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &cur.event)
			}
		}
	}()
	t.Cleanup(func() { sub.close() })
	return sub
}

func (sub *subscriber) close() {
	sub.cancel()
	_ = sub.resp.Body.Close()
}

// next returns the next n events, or fails after a bound.
func (sub *subscriber) next(t *testing.T, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case e, ok := <-sub.events:
			if !ok {
				t.Fatalf("stream ended after %d of %d events", len(out), n)
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("got %d of %d events in time", len(out), n)
		}
	}
	return out
}

// nothingMore asserts no event arrives for a while.
func (sub *subscriber) nothingMore(t *testing.T) {
	t.Helper()
	select {
	case e, ok := <-sub.events:
		if ok {
			t.Fatalf("unexpected event %d %s", e.id, e.typ)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

func TestStreamsDeliverSealedEventsLiveToEachSubscribersFilter(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newStreamAPI(t, db, nil)
		tokens := s.subscribe(t, "type=admin.token", "")
		system := s.subscribe(t, "type=system", "")
		for i := range 3 {
			s.record(t, audit.AdminTokenCreated(fmt.Sprint("live", i), "n", time.Now()), audit.SystemStopped())
		}
		got := tokens.next(t, 3)
		for i, e := range got {
			if e.typ != audit.TypeAdminTokenCreated || e.event.Target.ID != fmt.Sprint("live", i) || e.event.Seq != e.id {
				t.Fatalf("token stream event %d: %+v", i, e)
			}
			if i > 0 && e.id <= got[i-1].id {
				t.Fatalf("ids not increasing: %d after %d", e.id, got[i-1].id)
			}
		}
		for _, e := range system.next(t, 3) {
			if e.typ != audit.TypeSystemStopped {
				t.Fatalf("system stream got %s", e.typ)
			}
		}
		tokens.nothingMore(t)
		system.nothingMore(t)
	})
}

func TestAStreamResumedWithLastEventIDMissesNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newStreamAPI(t, db, nil)
		first := s.subscribe(t, "type=admin.token.created", "")
		s.record(t, audit.AdminTokenCreated("a", "n", time.Now()), audit.AdminTokenCreated("b", "n", time.Now()))
		seen := first.next(t, 2)
		first.close()
		// While nobody listens, more happens, filtered-out events among it.
		s.record(t, audit.AdminTokenCreated("c", "n", time.Now()), audit.SystemStopped(), audit.AdminTokenCreated("d", "n", time.Now()))
		s.waitSealed(t)
		again := s.subscribe(t, "type=admin.token.created", strconv.FormatInt(seen[1].id, 10))
		rest := again.next(t, 2)
		if rest[0].event.Target.ID != "c" || rest[1].event.Target.ID != "d" {
			t.Fatalf("resumed with %s, %s; want c, d", rest[0].event.Target.ID, rest[1].event.Target.ID)
		}
		again.nothingMore(t)
		// From the very start, the whole history is there.
		all := s.subscribe(t, "type=admin.token.created", "0")
		if got := all.next(t, 5); got[0].event.Target.Kind != "admin_token" {
			t.Fatalf("replay from 0: %+v", got[0])
		}
	})
}

func TestOnPostgresAStreamSeesEventsSealedByAnotherReplica(t *testing.T) {
	url := storetest.FreshPostgresURL(t)
	db1 := storetest.Open(t, url)
	storetest.Migrate(t, db1)
	sealer := newReplica(t, db1, true, nil)
	// The second replica has its own connections and no sealer: it learns of the seals
	// only through LISTEN/NOTIFY.
	other := newReplica(t, storetest.Open(t, url), false, nil)
	time.Sleep(300 * time.Millisecond) // let it start listening
	sub := other.subscribe(t, "type=admin.token.created", "")
	start := time.Now()
	sealer.record(t, audit.AdminTokenCreated("elsewhere", "n", time.Now()))
	got := sub.next(t, 1)
	if got[0].event.Target.ID != "elsewhere" {
		t.Fatalf("replica two streamed %+v", got[0])
	}
	// The hub also re-reads the head every 5 seconds; arriving well within that shows the
	// notification carried it.
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the event took %v to reach the other replica's stream: not notified", took)
	}
}

func TestAStreamClientThatNeverReadsIsCutOff(t *testing.T) {
	db := storetest.SQLite(t)
	s := newStreamAPI(t, db, func(d *api.Deps) { d.StreamWriteTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/audit/stream?last_event_id=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", s.token)
	// Far more than socket buffers hold, so the server's writes must block.
	details := map[string]any{"padding": strings.Repeat("x", 8000)}
	err = db.Tx(context.Background(), func(tx *store.Tx) error {
		for range 1500 {
			if err := s.log.Record(context.Background(), tx, audit.WebhookUpdated("w", details)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.waitSealed(t)
	time.Sleep(2 * time.Second) // the server fills the buffers, blocks, and gives up
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	n, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept streaming to a client that did not read (read %d bytes)", n)
	}
	if n >= 1500*8000 {
		t.Fatalf("read %d bytes: the server did not stop", n)
	}
	// Its slot is free again: a new stream is served.
	sub := s.subscribe(t, "type=system", "")
	sub.close()
}

func TestLiveStreamsAreCappedAndEndAtShutdown(t *testing.T) {
	db := storetest.SQLite(t)
	s := newStreamAPI(t, db, func(d *api.Deps) { d.MaxStreams = 2 })
	a, b := s.subscribe(t, "", ""), s.subscribe(t, "", "")
	req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/audit/stream", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d", resp.StatusCode)
	}
	close(s.shutdown)
	for _, sub := range []*subscriber{a, b} {
		select {
		case _, ok := <-sub.events:
			if ok {
				t.Fatal("an event arrived instead of the end of the stream")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a stream outlived the start of shutdown")
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
