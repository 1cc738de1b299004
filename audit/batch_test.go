package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestABatcherCommitsEveryEventBeforeReturningAndTheLogVerifies(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, _ := newLog(t, db)
		b := audit.NewBatcher(l)
		ctx := context.Background()
		const callers, each = 16, 25
		var wg sync.WaitGroup
		errs := make(chan error, callers*each)
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					ev := audit.AdminTokenCreated(string(rune('a'+c))+"-token", "t", expiry(i))
					if err := b.Record(ctx, ev); err != nil {
						errs <- err
						return
					}
					// Returned means committed: a fresh read sees it.
					if n := storetest.Count(t, db, "audit_pending WHERE target_id = '"+string(rune('a'+c))+"-token'"); n != i+1 {
						errs <- errors.New("an event was not committed when Record returned")
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := storetest.Count(t, db, "audit_pending WHERE type = 'admin.token.created'"); n != callers*each {
			t.Fatalf("%d events, want %d", n, callers*each)
		}
		s := audit.NewSealer(l, nil, audit.SealerConfig{})
		seal(t, s)
		if rep := verify(t, l); !rep.OK {
			t.Fatalf("the log does not verify: %+v", rep)
		}
	})
}

func TestABatcherRefusesInvalidEventsAloneAndReportsAFailedCommitToEveryone(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		l, _ := newLog(t, db)
		b := audit.NewBatcher(l)
		ctx := context.Background()
		if err := b.Record(ctx, audit.Event{Type: "no.such.type", Outcome: audit.Success}); !errors.Is(err, audit.ErrInvalidEvent) {
			t.Fatalf("an unknown type: %v, want ErrInvalidEvent", err)
		}
		if err := b.Record(ctx, audit.AdminTokenCreated("ok", "t", expiry(0))); err != nil {
			t.Fatalf("a good event after a refused one: %v", err)
		}
		db.Close()
		if err := b.Record(ctx, audit.AdminTokenCreated("lost", "t", expiry(0))); err == nil {
			t.Fatal("a commit on a closed database reported success")
		}
	})
}

// expiry is the expiry for a test token, i hours ahead.
func expiry(i int) time.Time { return time.Date(2030, 1, 1, i, 0, 0, 0, time.UTC) }
