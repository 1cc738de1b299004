package flows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/testclock"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// userID creates a user for flows to point at.
func userID(t *testing.T, db *store.DB) string {
	t.Helper()
	id := store.NewID()
	now := time.Now().UTC()
	_, err := db.Exec(context.Background(), `INSERT INTO users (id, email, email_key, email_verified, name, status, metadata,
		search_text, created_at, updated_at) VALUES ($1, $2, $2, $3, '', 'active', '{}', $2, $4, $4)`, id, id+"@example.com", false, now)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAFlowGoesFromCredentialsToSecondFactorAndFinishesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := testclock.New()
		s := flows.New(db, c.Now, 0)
		ctx := context.Background()
		browser := flows.NewBrowserSecret()
		f, err := s.Start(ctx, browser, "/account")
		if err != nil {
			t.Fatal(err)
		}
		if f.State != flows.StateCredentials || f.ReturnTo != "/account" || !f.ExpiresAt.Equal(f.CreatedAt.Add(flows.DefaultTTL)) {
			t.Errorf("started %+v", f)
		}
		got, err := s.Get(ctx, f.ID, browser)
		if err != nil || got.ID != f.ID || got.State != flows.StateCredentials {
			t.Fatalf("Get: %+v %v", got, err)
		}
		uid := userID(t, db)
		f2, err := s.AwaitSecondFactor(ctx, f.ID, browser, uid, []string{"pwd"}, true)
		if err != nil || f2.State != flows.StateSecondFactor || f2.UserID != uid {
			t.Fatalf("AwaitSecondFactor: %+v %v", f2, err)
		}
		if _, err := s.AwaitSecondFactor(ctx, f.ID, browser, uid, []string{"pwd"}, true); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("a second AwaitSecondFactor: %v", err)
		}
		done, err := s.Finish(ctx, f.ID, browser)
		if err != nil || done.UserID != uid || !slices.Equal(done.Methods, []string{"pwd"}) || !done.Remember {
			t.Fatalf("Finish: %+v %v", done, err)
		}
		if _, err := s.Finish(ctx, f.ID, browser); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("a flow finished twice: %v", err)
		}
	})
}

func TestAFlowWorksOnlyInItsBrowserAndUntilItExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := testclock.New()
		s := flows.New(db, c.Now, time.Minute)
		ctx := context.Background()
		browser := flows.NewBrowserSecret()
		f, err := s.Start(ctx, browser, "/")
		if err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string][2]string{
			"another browser":  {f.ID, flows.NewBrowserSecret()},
			"no browser":       {f.ID, ""},
			"forged id":        {strings.Repeat("A", 22), browser},
			"malformed id":     {"'; DROP TABLE login_flows; --", browser},
			"overlong id":      {strings.Repeat("a", 5000), browser},
			"malformed secret": {f.ID, "not-a-secret"},
		} {
			if _, err := s.Get(ctx, tc[0], tc[1]); !errors.Is(err, flows.ErrNotFound) {
				t.Errorf("%s: Get %v", name, err)
			}
			if _, err := s.Finish(ctx, tc[0], tc[1]); !errors.Is(err, flows.ErrNotFound) {
				t.Errorf("%s: Finish %v", name, err)
			}
		}
		if _, err := s.Get(ctx, f.ID, browser); err != nil {
			t.Fatalf("the right browser: %v", err)
		}
		c.Advance(time.Minute)
		if _, err := s.Get(ctx, f.ID, browser); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("an expired flow: %v", err)
		}
		if _, err := s.Finish(ctx, f.ID, browser); !errors.Is(err, flows.ErrNotFound) {
			t.Errorf("finishing an expired flow: %v", err)
		}
		other, _ := s.Start(ctx, browser, "/")
		n, err := s.DeleteExpired(ctx, 10)
		if err != nil || n != 1 {
			t.Errorf("DeleteExpired: %d %v, want the expired flow", n, err)
		}
		if _, err := s.Get(ctx, other.ID, browser); err != nil {
			t.Errorf("a live flow was deleted: %v", err)
		}
	})
}

func TestOnlySameOriginPathsAreWhereAFlowMayLead(t *testing.T) {
	for raw, want := range map[string]string{
		"/account":                         "/account",
		"/":                                "/",
		"/oauth2/auth?client_id=a&state=b": "/oauth2/auth?client_id=a&state=b",
		"/account#frag":                    "/account",
	} {
		if got, ok := flows.SafeReturnTo(raw); !ok || got != want {
			t.Errorf("SafeReturnTo(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{
		"", "//evil.example", "https://evil.example", "http://evil.example/x", `/\evil.example`, `\\evil.example`,
		"javascript:alert(1)", "JAVASCRIPT:alert(1)", "/\tevil", "/a\nb", "account", "./account", "/account\x00",
		"//evil.example/%2f..", "/%5Cevil.example", "/ /evil", strings.Repeat("/a", 2000), "data:text/html,x",
		"%2F%2Fevil.example", "/\u2028x",
		"/%2Fevil.example", // "//evil.example" to anything that decodes before it resolves
	} {
		if got, ok := flows.SafeReturnTo(raw); ok {
			t.Errorf("SafeReturnTo(%q) accepted, as %q", raw, got)
		}
	}
}
