package signingkeys_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func TestTheMaintainJobMakesKeysAtStart(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db, time.Now, esOnly(), nil)
		q, err := jobs.New(db, jobs.Config{Workers: river.NewWorkers(), MaxWorkers: 1, PollInterval: 50 * time.Millisecond,
			Tasks: []jobs.Task{signingkeys.MaintainTask(s)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		eventually(t, "the periodic job making a key", func() bool {
			_, _, err := s.Signing(signingkeys.ES256)
			return err == nil
		})
		if keys := list(t, s); len(keys) != 1 {
			t.Fatalf("the job made %d keys, want 1", len(keys))
		}
	})
}
