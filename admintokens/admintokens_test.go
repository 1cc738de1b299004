package admintokens_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestCreatedTokenVerifiesUntilItExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		s := admintokens.New(db, c.Now, audittest.NewLog(t, db))
		secret, tok, err := s.Create(ctx, "deploy bot", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, admintokens.Prefix) || len(secret) != len(admintokens.Prefix)+43 {
			t.Fatalf("secret %q: want the prefix and 256 bits in base64url", secret)
		}
		got, err := s.Verify(ctx, secret)
		if err != nil {
			t.Fatalf("verify fresh token: %v", err)
		}
		if got.ID != tok.ID || got.Name != "deploy bot" || got.LastUsedAt == nil {
			t.Fatalf("verified %+v, want %+v with a last use", got, tok)
		}
		c.Advance(time.Hour)
		if _, err := s.Verify(ctx, secret); !errors.Is(err, admintokens.ErrInvalid) {
			t.Fatalf("verify at expiry = %v, want ErrInvalid", err)
		}
	})
}

func TestOnlyTheHashOfATokenIsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := admintokens.New(db, testclock.New().Now, audittest.NewLog(t, db))
		secret, tok, err := s.Create(ctx, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var stored []byte
		if err := db.QueryRow(ctx, "SELECT token_hash FROM admin_tokens WHERE id = $1", tok.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		want := sha256.Sum256([]byte(secret))
		if string(stored) != string(want[:]) {
			t.Fatal("stored value is not the SHA-256 of the token")
		}
		if tok.Name != admintokens.DefaultName {
			t.Errorf("empty name became %q, want %q", tok.Name, admintokens.DefaultName)
		}
	})
}

func TestRevokedTokenNoLongerVerifies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := admintokens.New(db, testclock.New().Now, audittest.NewLog(t, db))
		secret, tok, err := s.Create(ctx, "ci", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		revoked, err := s.Revoke(ctx, tok.ID)
		if err != nil || revoked.RevokedAt == nil {
			t.Fatalf("revoke: %+v, %v", revoked, err)
		}
		if _, err := s.Verify(ctx, secret); !errors.Is(err, admintokens.ErrInvalid) {
			t.Fatalf("verify revoked = %v, want ErrInvalid", err)
		}
		again, err := s.Revoke(ctx, tok.ID)
		if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
			t.Fatalf("revoking twice: %+v, %v; want the first revocation kept", again, err)
		}
		if _, err := s.Revoke(ctx, "nosuchid"); !errors.Is(err, admintokens.ErrNotFound) {
			t.Fatalf("revoke unknown = %v, want ErrNotFound", err)
		}
	})
}

func TestVerifyRejectsMalformedAndForgedTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := admintokens.New(db, testclock.New().Now, audittest.NewLog(t, db))
		secret, _, err := s.Create(ctx, "x", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		last := "A"
		if strings.HasSuffix(secret, "A") {
			last = "B"
		}
		forged := secret[:len(secret)-1] + last // same length and prefix, one character off
		for _, bad := range []string{"", "Bearer " + secret, secret + "x", admintokens.Prefix, "idd_admin_' OR 1=1 --",
			strings.Repeat("A", 10_000), secret[len(admintokens.Prefix):], forged} {
			if _, err := s.Verify(ctx, bad); !errors.Is(err, admintokens.ErrInvalid) {
				t.Errorf("Verify(%.40q) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

func TestCreateValidatesNameAndTTL(t *testing.T) {
	db := storetest.SQLite(t)
	s := admintokens.New(db, testclock.New().Now, audittest.NewLog(t, db))
	cases := []struct {
		name  string
		ttl   time.Duration
		field string
	}{
		{"ok", 30 * time.Second, "ttl"},
		{"ok", 366 * 24 * time.Hour, "ttl"},
		{strings.Repeat("n", admintokens.MaxNameLength+1), time.Hour, "name"},
		{"bell\a", time.Hour, "name"},
		{" padded", time.Hour, "name"},
		{"\xff\xfe", time.Hour, "name"},
	}
	for _, c := range cases {
		_, _, err := s.Create(context.Background(), c.name, c.ttl)
		var ve *admintokens.ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Field != c.field {
			t.Errorf("Create(%q, %s) = %v, want a validation error on %s", c.name, c.ttl, err, c.field)
		}
	}
	page, _ := s.List(context.Background(), 10, "")
	if len(page.Tokens) != 0 {
		t.Fatalf("refused creates left %d tokens behind", len(page.Tokens))
	}
}

func TestCleanupJobDeletesExpiredTokensOnly(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		s := admintokens.New(db, c.Now, audittest.NewLog(t, db))
		_, old, err := s.Create(ctx, "old", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		c.Advance(2 * time.Minute)
		_, fresh, err := s.Create(ctx, "fresh", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(db, jobs.Config{Workers: river.NewWorkers(), MaxWorkers: 1, PollInterval: 50 * time.Millisecond,
			Tasks: []jobs.Task{admintokens.CleanupTask(s)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = q.Stop(ctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			page, err := s.List(ctx, admintokens.MaxPageSize, "")
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, tok := range page.Tokens {
				ids[tok.ID] = true
			}
			if !ids[old.ID] {
				if !ids[fresh.ID] {
					t.Fatal("cleanup deleted a token that has not expired")
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the periodic cleanup did not delete the expired token")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestListPagesThroughEveryTokenNewestFirst(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		s := admintokens.New(db, c.Now, audittest.NewLog(t, db))
		var want []string
		for i := range 7 {
			_, tok, err := s.Create(ctx, fmt.Sprint("t", i), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{tok.ID}, want...)
			if i%2 == 0 {
				c.Advance(time.Second) // some tokens share a creation time; the id breaks ties
			}
		}
		var got []string
		var prev *admintokens.Token
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := s.List(ctx, 3, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range page.Tokens {
				if prev != nil && (tok.CreatedAt.After(prev.CreatedAt) || tok.CreatedAt.Equal(prev.CreatedAt) && tok.ID > prev.ID) {
					t.Fatalf("token %s (%v) listed after %s (%v): not newest first", tok.ID, tok.CreatedAt, prev.ID, prev.CreatedAt)
				}
				got = append(got, tok.ID)
				prev = &tok
			}
			if page.Next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = page.Next
		}
		if len(got) != len(want) {
			t.Fatalf("paged %d tokens, want %d", len(got), len(want))
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("token %s listed twice", id)
			}
			seen[id] = true
		}
		for _, id := range want {
			if !seen[id] {
				t.Fatalf("token %s never listed", id)
			}
		}
		for _, bad := range []string{"!!!", "bm90LWEtY3Vyc29y", strings.Repeat("QUFB", 40)} {
			if _, err := s.List(ctx, 3, bad); !errors.Is(err, admintokens.ErrBadCursor) {
				t.Errorf("List with cursor %q = %v, want ErrBadCursor", bad, err)
			}
		}
		for _, limit := range []int{0, -1, admintokens.MaxPageSize + 1} {
			var ve *admintokens.ValidationError
			if _, err := s.List(ctx, limit, ""); !errors.As(err, &ve) {
				t.Errorf("List with limit %d = %v, want a validation error", limit, err)
			}
		}
	})
}

func TestEveryChangeToATokenIsAudited(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := testclock.New()
		log := audittest.NewLog(t, db)
		s := admintokens.New(db, c.Now, log)
		_, tok, err := s.Create(ctx, "ci", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := s.Revoke(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.Create(ctx, "too long a life", 400*24*time.Hour); err == nil {
			t.Fatal("a refused create succeeded")
		}
		c.Advance(time.Hour)
		if n, err := s.DeleteExpired(ctx, 100); err != nil || n != 1 {
			t.Fatalf("delete expired = %d, %v", n, err)
		}
		page, err := log.Query(ctx, audit.Filter{Type: "admin.token"}, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range page.Events {
			got = append(got, e.Type+":"+e.Target.ID)
		}
		want := []string{audit.TypeAdminTokensExpired + ":expired", audit.TypeAdminTokenRevoked + ":" + tok.ID,
			audit.TypeAdminTokenCreated + ":" + tok.ID}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("audit events, newest first:\n got %v\nwant %v", got, want)
		}
	})
}
