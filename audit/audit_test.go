package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// testKey is the encryption key the tests' logs derive their keys from.
var testKey = bytes.Repeat([]byte{7}, 32)

func newLog(t testing.TB, db *store.DB, keys ...[]byte) (*audit.Log, *testclock.Clock) {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testKey}
	}
	kr, err := keyring.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	c := testclock.New()
	l, err := audit.New(db, kr, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return l, c
}

func record(t testing.TB, db *store.DB, l *audit.Log, evs ...audit.Event) {
	t.Helper()
	ctx := context.Background()
	for _, ev := range evs {
		if err := db.Tx(ctx, func(tx *store.Tx) error { return l.Record(ctx, tx, ev) }); err != nil {
			t.Fatal(err)
		}
	}
}

func seal(t testing.TB, s *audit.Sealer) int {
	t.Helper()
	n, err := s.Seal(context.Background())
	if err != nil {
		t.Fatalf("seal: %v", err)
	}
	return n
}

func verify(t testing.TB, l *audit.Log) audit.Report {
	t.Helper()
	rep, err := l.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// allEvents returns every event, newest first.
func allEvents(t testing.TB, l *audit.Log) []audit.Event {
	t.Helper()
	var out []audit.Event
	cursor := ""
	for {
		p, err := l.Query(context.Background(), audit.Filter{}, audit.MaxPageSize, cursor)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Events...)
		if cursor = p.Next; cursor == "" {
			return out
		}
	}
}

func TestAnEventCommitsAndRollsBackWithItsChange(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, _ := newLog(t, db)
		kept := audit.AdminTokenCreated("kept", "k", time.Now())
		if err := db.Tx(ctx, func(tx *store.Tx) error { return l.Record(ctx, tx, kept) }); err != nil {
			t.Fatal(err)
		}
		refused := errors.New("the change failed")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if err := l.Record(ctx, tx, audit.AdminTokenCreated("dropped", "d", time.Now())); err != nil {
				return err
			}
			return refused
		})
		if !errors.Is(err, refused) {
			t.Fatal(err)
		}
		evs := allEvents(t, l)
		if len(evs) != 1 || evs[0].Target.ID != "kept" {
			t.Fatalf("events after a commit and a rollback: %+v", evs)
		}
	})
}

func TestRecordTakesRequestFactsFromTheContextAndRedactsDetails(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, _ := newLog(t, db)
		ctx := requestinfo.With(context.Background(), &requestinfo.Info{
			ID: "req-1", ClientIP: netip.MustParseAddr("192.0.2.7"), UserAgent: "agent/1\x00\xff",
			Actor: requestinfo.Actor{Kind: requestinfo.ActorAdminToken, ID: "tok1"},
		})
		ev := audit.WebhookUpdated("wh1", map[string]any{"url": "https://x.example", "secret": "whsec_SECRET", "nested": map[string]any{"password": "hunter2"}})
		if err := db.Tx(ctx, func(tx *store.Tx) error { return l.Record(ctx, tx, ev) }); err != nil {
			t.Fatal(err)
		}
		got := allEvents(t, l)[0]
		if got.RequestID != "req-1" || got.ClientIP != "192.0.2.7" || got.Actor.ID != "tok1" ||
			got.Actor.Kind != requestinfo.ActorAdminToken || !strings.HasPrefix(got.UserAgent, "agent/1") {
			t.Fatalf("request facts: %+v", got)
		}
		if bytes.Contains(got.Details, []byte("SECRET")) || bytes.Contains(got.Details, []byte("hunter2")) ||
			!bytes.Contains(got.Details, []byte("https://x.example")) {
			t.Fatalf("details not redacted: %s", got.Details)
		}
		if !json.Valid([]byte(got.UserAgent)) && strings.ContainsRune(got.UserAgent, 0) {
			t.Fatal("a NUL reached the stored user agent")
		}
		// Outside a request, identityd itself is the actor.
		record(t, db, l, audit.SystemStopped())
		if a := allEvents(t, l)[0].Actor; a != requestinfo.System {
			t.Fatalf("actor outside a request = %+v, want system", a)
		}
		if rep := verify(t, l); !rep.OK || rep.Pending != 2 {
			t.Fatalf("verify with pending events: %+v", rep)
		}
	})
}

func TestRecordRefusesEventsItCannotKeep(t *testing.T) {
	db := storetest.SQLite(t)
	l, _ := newLog(t, db)
	ctx := context.Background()
	huge := map[string]any{"blob": strings.Repeat("x", 20<<10)}
	for name, ev := range map[string]audit.Event{
		"unknown type":  {Type: "made.up", Outcome: audit.Success},
		"no outcome":    {Type: audit.TypeSystemStopped},
		"huge details":  audit.WebhookUpdated("w", huge),
		"long target":   {Type: audit.TypeSystemStopped, Outcome: audit.Success, Target: audit.Target{Kind: "x", ID: strings.Repeat("i", 600)}},
		"array details": {Type: audit.TypeSystemStopped, Outcome: audit.Success, Details: json.RawMessage(`[1]`)},
	} {
		err := db.Tx(ctx, func(tx *store.Tx) error { return l.Record(ctx, tx, ev) })
		if !errors.Is(err, audit.ErrInvalidEvent) {
			t.Errorf("%s: %v, want ErrInvalidEvent", name, err)
		}
	}
	if n := len(allEvents(t, l)); n != 0 {
		t.Fatalf("%d refused events were written", n)
	}
}

func TestSealingNumbersEventsWithoutGapsAndTheLogVerifies(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, c := newLog(t, db)
		s := audit.NewSealer(l, nil, audit.SealerConfig{Batch: 7})
		for i := range 20 {
			record(t, db, l, audit.AdminTokenCreated(fmt.Sprint("t", i), "n", c.Now()))
		}
		if n := seal(t, s); n != 20 {
			t.Fatalf("sealed %d, want 20", n)
		}
		if err := s.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		c.Advance(2 * time.Minute)
		record(t, db, l, audit.SystemStopped())
		seal(t, s)
		evs := allEvents(t, l)
		seen := map[int64]bool{}
		for _, e := range evs {
			if e.Seq < 1 || e.Seq > 21 || seen[e.Seq] {
				t.Fatalf("sequence numbers are not 1..21 without repeats: %d", e.Seq)
			}
			seen[e.Seq] = true
		}
		// Checkpoints: the first batch's (the log's first), the forced one at #20, and the
		// one at #21 a minute later.
		rep := verify(t, l)
		if !rep.OK || rep.Events != 21 || rep.FirstSeq != 1 || rep.LastSeq != 21 || rep.Checkpoints != 3 || rep.Pending != 0 {
			t.Fatalf("verify: %+v (problem %+v)", rep, rep.Problem)
		}
		if n := seal(t, s); n != 0 {
			t.Fatalf("sealing again sealed %d", n)
		}
	})
}

func TestConcurrentRecordingAndSealingLoseNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, _ := newLog(t, db)
		ctx, cancel := context.WithCancel(context.Background())
		// Two sealers, as two replicas would run.
		for range 2 {
			s := audit.NewSealer(l, nil, audit.SealerConfig{Interval: 5 * time.Millisecond, Batch: 50, CheckpointEvery: 50 * time.Millisecond})
			go s.Run(ctx)
		}
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					record(t, db, l, audit.AdminTokenCreated(fmt.Sprintf("w%d-%d", w, i), "n", time.Now()))
				}
			}()
		}
		wg.Wait()
		deadline := time.Now().Add(30 * time.Second)
		for {
			rep := verify(t, l)
			if !rep.OK {
				t.Fatalf("verify under concurrency: %+v", rep.Problem)
			}
			if rep.Events == 400 && rep.Pending == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not all sealed: %+v", rep)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	})
}

// tamperSetup records and seals 15 events, with checkpoints at #1 (the first is
// automatic), #6 and #12.
func tamperSetup(t *testing.T, db *store.DB) (*audit.Log, *audit.Sealer) {
	t.Helper()
	l, c := newLog(t, db)
	s := audit.NewSealer(l, nil, audit.SealerConfig{CheckpointEvery: 24 * time.Hour})
	for i := range 15 {
		record(t, db, l, audit.AdminTokenCreated(fmt.Sprint("t", i+1), "name", c.Now()))
		seal(t, s)
		if i == 5 || i == 11 {
			if err := s.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Minute)
		}
	}
	if rep := verify(t, l); !rep.OK || rep.Events != 15 || rep.Checkpoints != 3 {
		t.Fatalf("untouched log: %+v %+v", rep, rep.Problem)
	}
	return l, s
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestVerifyNamesTheFirstBrokenLink(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, db *store.DB)
		kind   audit.ProblemKind
		seq    int64
	}{
		{"a field of one event changed", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_events SET actor_id = 'mallory' WHERE seq = 4`)
		}, audit.Modified, 4},
		{"details of an event after the last checkpoint changed", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_events SET details = '{"name":"other"}' WHERE seq = 14`)
		}, audit.Modified, 14},
		{"one event deleted", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_events WHERE seq = 5`)
		}, audit.Deleted, 5},
		{"two events swapped", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_events SET seq = -1 WHERE seq = 8`)
			exec(t, db, `UPDATE audit_events SET seq = 8 WHERE seq = 9`)
			exec(t, db, `UPDATE audit_events SET seq = 9 WHERE seq = -1`)
		}, audit.Reordered, 8},
		{"the last event deleted", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_events WHERE seq = 15`)
		}, audit.Deleted, 15},
		{"every event deleted", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_events`)
		}, audit.Deleted, 1},
		{"a forged event appended to the chain", func(t *testing.T, db *store.DB) {
			forge(t, db, "16")
		}, audit.Inserted, 16},
		{"a forged event waiting to be sealed", func(t *testing.T, db *store.DB) {
			forge(t, db, "NULL")
		}, audit.Inserted, 0},
		{"a checkpoint edited", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_checkpoints SET seq = 5 WHERE seq = 6`)
		}, audit.ForgedCheckpoint, 5},
		{"the first checkpoint deleted", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_checkpoints WHERE seq = 1`)
		}, audit.ForgedCheckpoint, 6},
		{"a checkpoint in the middle deleted", func(t *testing.T, db *store.DB) {
			exec(t, db, `DELETE FROM audit_checkpoints WHERE seq = 6`)
		}, audit.ForgedCheckpoint, 12},
		{"the head mark rolled back", func(t *testing.T, db *store.DB) {
			exec(t, db, `UPDATE audit_marks SET seq = 14 WHERE name = 'head'`)
		}, audit.ForgedMark, 14},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
				l, _ := tamperSetup(t, db)
				c.tamper(t, db)
				rep := verify(t, l)
				if rep.OK || rep.Problem == nil || rep.Problem.Kind != c.kind || rep.Problem.Seq != c.seq {
					t.Fatalf("report %+v, problem %+v; want %s at #%d", rep, rep.Problem, c.kind, c.seq)
				}
				if rep.Problem.Message == "" {
					t.Fatal("problem without a message")
				}
			})
		})
	}
}

// forge inserts an event identityd never recorded, copied from #3 with another actor: at
// seq in the chain, with made-up seal, or waiting to be sealed when seq is "NULL".
func forge(t *testing.T, db *store.DB, seq string) {
	t.Helper()
	const cols = `recorded_at, type, actor_kind, 'mallory', target_kind, target_id, outcome,
		client_ip, user_agent, request_id, details, key_id, mac`
	const forgedID = `'00000000-0000-7000-8000-000000000001'`
	if seq == "NULL" {
		exec(t, db, `INSERT INTO audit_pending (id, recorded_at, type, actor_kind, actor_id, target_kind, target_id, outcome,
			client_ip, user_agent, request_id, details, key_id, mac) SELECT `+forgedID+`, `+cols+` FROM audit_events WHERE seq = 3`)
		return
	}
	exec(t, db, `INSERT INTO audit_events (seq, id, recorded_at, type, actor_kind, actor_id, target_kind, target_id, outcome,
		client_ip, user_agent, request_id, details, key_id, mac, seal_key_id, chain_hash)
		SELECT `+seq+`, `+forgedID+`, `+cols+`, seal_key_id, chain_hash FROM audit_events WHERE seq = 3`)
}

func TestTheSealerSetsForgedPendingEventsAsideAndRecordsIt(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, _ := tamperSetup(t, db)
		forge(t, db, "NULL") // its id sorts before every real one
		record(t, db, l, audit.SystemStopped())
		s := audit.NewSealer(l, nil, audit.SealerConfig{})
		seal(t, s)
		seal(t, s) // the tampering event recorded in the first round
		rep := verify(t, l)
		if !rep.OK || rep.Rejected != 1 || rep.Pending != 0 || rep.Events != 17 {
			t.Fatalf("after rejecting a forged event: %+v %+v", rep, rep.Problem)
		}
		page, err := l.Query(context.Background(), audit.Filter{Type: audit.TypeAuditTamperingSuspect}, 10, "")
		if err != nil || len(page.Events) != 1 || page.Events[0].Target.ID != "00000000-0000-7000-8000-000000000001" {
			t.Fatalf("tampering event: %+v, %v", page.Events, err)
		}
	})
}

func TestTheSealerRefusesToExtendAChainWhoseHeadWasTamperedWith(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, s := tamperSetup(t, db)
		exec(t, db, `DELETE FROM audit_events WHERE seq = 15`)
		record(t, db, l, audit.SystemStopped())
		if _, err := s.Seal(context.Background()); !errors.Is(err, audit.ErrChainBroken) {
			t.Fatalf("seal on a truncated chain = %v, want ErrChainBroken", err)
		}
		if rep := verify(t, l); rep.Pending != 0 && rep.OK {
			t.Fatal("the new event was sealed onto a broken chain")
		}
	})
}

func TestPrunedLogStillVerifiesAndPruningIsAudited(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, c := newLog(t, db)
		s := audit.NewSealer(l, nil, audit.SealerConfig{})
		for i := range 2500 { // more than a pruning batch
			if i%500 == 0 {
				c.Advance(time.Hour)
			}
			record(t, db, l, audit.AdminTokenCreated(fmt.Sprint("t", i), "n", c.Now()))
		}
		seal(t, s)
		if err := s.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Advance(48 * time.Hour)
		record(t, db, l, audit.SystemStopped())
		seal(t, s)

		through, err := l.Prune(context.Background(), c.Now().Add(-24*time.Hour))
		if err != nil || through != 2500 {
			t.Fatalf("prune = %d, %v; want through #2500", through, err)
		}
		seal(t, s) // the audit.pruned event
		rep := verify(t, l)
		if !rep.OK || rep.FirstSeq != 2501 || rep.Events != 2 {
			t.Fatalf("verify after pruning: %+v %+v", rep, rep.Problem)
		}
		page, _ := l.Query(context.Background(), audit.Filter{Type: audit.TypeAuditPruned}, 10, "")
		if len(page.Events) != 1 || !bytes.Contains(page.Events[0].Details, []byte(`"through_seq":2500`)) {
			t.Fatalf("pruning was not audited: %+v", page.Events)
		}
		if again, _ := l.Prune(context.Background(), c.Now().Add(-24*time.Hour)); again != 0 {
			t.Fatalf("pruning twice pruned through %d", again)
		}
		// A pruning mark moved by hand does not verify.
		exec(t, db, `UPDATE audit_marks SET seq = 2499 WHERE name = 'pruned'`)
		if rep := verify(t, l); rep.OK || rep.Problem.Kind != audit.ForgedMark {
			t.Fatalf("verify with a forged pruning mark: %+v", rep.Problem)
		}
		exec(t, db, `UPDATE audit_marks SET seq = 2500 WHERE name = 'pruned'`)
		// Deleting the oldest remaining event is still caught.
		exec(t, db, `DELETE FROM audit_events WHERE seq = 2501`)
		if rep := verify(t, l); rep.OK || rep.Problem.Kind != audit.Deleted || rep.Problem.Seq != 2501 {
			t.Fatalf("verify after deleting past the pruning mark: %+v", rep.Problem)
		}
	})
}

func TestALogSealedUnderAnOldKeyVerifiesAfterRotation(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		old, _ := newLog(t, db)
		s := audit.NewSealer(old, nil, audit.SealerConfig{})
		record(t, db, old, audit.SystemStopped())
		seal(t, s)
		if err := s.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		newKey := bytes.Repeat([]byte{9}, 32)
		rotated, _ := newLog(t, db, newKey, testKey)
		record(t, db, rotated, audit.SystemStopped())
		seal(t, audit.NewSealer(rotated, nil, audit.SealerConfig{}))
		if rep := verify(t, rotated); !rep.OK || rep.Events != 2 {
			t.Fatalf("after rotation: %+v %+v", rep, rep.Problem)
		}
		withoutOld, _ := newLog(t, db, newKey)
		if rep := verify(t, withoutOld); rep.OK || rep.Problem.Kind != audit.Unverifiable {
			t.Fatalf("without the old key: %+v", rep.Problem)
		}
	})
}
