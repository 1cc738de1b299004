package sessions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// remaining lists the ids of every session row, of any user.
func remaining(t *testing.T, db *store.DB) map[string]bool {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT id FROM sessions`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

func TestDeleteExpiredDeletesOnlyExpiredSessions(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, sessions.Config{IdleTimeout: time.Hour, AbsoluteTimeout: 2 * time.Hour,
			RememberIdle: 90 * time.Minute, RememberFor: 5 * time.Hour})
		ctx := context.Background()
		uid := f.newUser(t)
		// Each kind of expiry, and live sessions that each rule would catch if it were
		// applied to the wrong kind of session.
		absolute, absoluteSess := f.establish(t, "", uid, false)
		remembered, rememberedSess := f.establish(t, "", uid, true)
		rememberedIdle, rememberedIdleSess := f.establish(t, "", uid, true)
		both, bothSess := f.establish(t, "", uid, false)
		f.clock.Advance(50 * time.Minute)
		f.mustLive(t, "at 50m", absolute, remembered)
		f.clock.Advance(20 * time.Minute)
		idle, idleSess := f.establish(t, "", uid, false)
		f.clock.Advance(30 * time.Minute)
		f.mustLive(t, "at 1h40m", absolute)
		f.clock.Advance(20 * time.Minute)
		live, liveSess := f.establish(t, "", uid, false)
		f.clock.Advance(10 * time.Minute)
		// At 2h10m: absolute has passed its 2 hours though it was used 30 minutes ago;
		// idle has gone unused for its hour, to the microsecond; rememberedIdle for its 90
		// minutes; both has expired both ways, and counts once. remembered has gone unused for 80 minutes: past the idle timeout, not
		// past the remembered one. Lookups of expired sessions write nothing, so checking
		// them first changes nothing the cleanup sees.
		f.mustEnded(t, "at 2h10m", absolute, idle, rememberedIdle, both)
		n, err := f.svc.DeleteExpired(ctx, 3)
		if err != nil || n != 4 {
			t.Fatalf("delete expired = %d, %v; want 4", n, err)
		}
		left := remaining(t, db)
		if len(left) != 2 || !left[liveSess.ID] || !left[rememberedSess.ID] {
			t.Fatalf("left %v; want only %s and %s (deleted %s, %s, %s, %s)", left, liveSess.ID, rememberedSess.ID,
				absoluteSess.ID, idleSess.ID, rememberedIdleSess.ID, bothSess.ID)
		}
		f.mustLive(t, "after the cleanup", live, remembered)
		if n, err := f.svc.DeleteExpired(ctx, 3); err != nil || n != 0 {
			t.Fatalf("delete expired again = %d, %v; want 0", n, err)
		}
		rows, err := db.Query(ctx, `SELECT details FROM audit_pending WHERE type = 'session.expired_deleted' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		details, err := store.CollectRows(rows, func(r *store.Rows) (string, error) {
			var d string
			return d, r.Scan(&d)
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(details) != `[{"count":3} {"count":1}]` {
			t.Fatalf("cleanup events %v: want one per batch, with its count", details)
		}
	})
}

func TestCleanupJobDeletesExpiredSessions(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, sessions.Config{})
		uid := f.newUser(t)
		_, old := f.establish(t, "", uid, false)
		f.clock.Advance(time.Hour)
		_, fresh := f.establish(t, "", uid, false)
		q, err := jobs.New(db, jobs.Config{Workers: river.NewWorkers(), MaxWorkers: 1, PollInterval: 50 * time.Millisecond,
			Tasks: []jobs.Task{sessions.CleanupTask(f.svc)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			left := remaining(t, db)
			if !left[old.ID] {
				if !left[fresh.ID] {
					t.Fatal("the cleanup deleted a live session")
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the periodic cleanup did not delete the expired session")
			}
		}
	})
}
