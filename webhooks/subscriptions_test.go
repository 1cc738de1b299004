package webhooks_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/webhooks"
)

// webhookEvents returns the audit events about subscription id, oldest first.
func webhookEvents(t *testing.T, l *audit.Log, id string) []audit.Event {
	t.Helper()
	p, err := l.Query(context.Background(), audit.Filter{TargetKind: "webhook", TargetID: id}, audit.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(p.Events)
	return p.Events
}

func countEvents(t *testing.T, l *audit.Log) int {
	t.Helper()
	p, err := l.Query(context.Background(), audit.Filter{}, audit.MaxPageSize, "")
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Events)
}

func changed(t *testing.T, ev audit.Event) map[string]any {
	t.Helper()
	var d struct {
		Changed map[string]any `json:"changed"`
	}
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatal(err)
	}
	return d.Changed
}

// recordsURL reports whether an event's record of a webhook URL is raw's: its origin and
// the SHA-256 of the whole.
func recordsURL(recorded map[string]any, raw string) bool {
	sum := sha256.Sum256([]byte(raw))
	return recorded["origin"] == "https://hooks.example.com" && recorded["url_sha256"] == hex.EncodeToString(sum[:])
}

func TestSubscriptionLifecycleRecordsEachChangeAndNeverRevealsTheSecret(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{})
		// The receiver's token is in the path and the query, as chat services put it.
		firstURL := "https://hooks.example.com/services/T0/pathtoken1?key=querytoken1"
		sub, secret := e.create(t, firstURL, "admin.token.*", "system.started")
		if !sub.Enabled || sub.ID == "" || !slices.Equal(sub.EventTypes, []string{"admin.token.*", "system.started"}) ||
			sub.CreatedAt.IsZero() || !sub.UpdatedAt.Equal(sub.CreatedAt) {
			t.Fatalf("created: %+v", sub)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) != 32 {
			t.Fatalf("secret %q is not whsec_ and the base64 of 32 bytes", secret)
		}

		got, err := e.svc.Get(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != sub.URL || !slices.Equal(got.EventTypes, sub.EventTypes) || !got.CreatedAt.Equal(sub.CreatedAt) || !got.Enabled {
			t.Fatalf("Get = %+v, want %+v", got, sub)
		}
		if js, _ := json.Marshal(got); bytes.Contains(js, []byte(secret[6:])) {
			t.Fatal("a read subscription carries the secret")
		}

		// At rest the secret is a keyring ciphertext bound to this subscription.
		var enc []byte
		if err := db.QueryRow(ctx, `SELECT secret_enc FROM webhook_subscriptions WHERE id = $1`, sub.ID).Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(enc, []byte(secret)) || bytes.Contains(enc, []byte(secret[6:])) || bytes.Contains(enc, key) {
			t.Fatal("the stored secret contains the plaintext")
		}
		if plain, err := e.kr.Decrypt(enc, []byte("webhook_secret:"+sub.ID)); err != nil || string(plain) != secret {
			t.Fatalf("stored secret does not decrypt to the one shown: %v", err)
		}
		if _, err := e.kr.Decrypt(enc, []byte("webhook_secret:someone-else")); err == nil {
			t.Fatal("the stored secret decrypts for another subscription")
		}

		newURL, off := "https://hooks.example.com/v2/pathtoken2", false
		upd, err := e.svc.Update(ctx, sub.ID, webhooks.Update{URL: &newURL, Enabled: &off})
		if err != nil {
			t.Fatal(err)
		}
		if upd.URL != newURL || upd.Enabled || upd.UpdatedAt.Before(sub.UpdatedAt) {
			t.Fatalf("updated: %+v", upd)
		}
		if got, _ := e.svc.Get(ctx, sub.ID); got.URL != newURL || got.Enabled {
			t.Fatalf("after update Get = %+v", got)
		}
		// Setting what is already there is no change: nothing written, nothing recorded.
		before := countEvents(t, e.log)
		if again, err := e.svc.Update(ctx, sub.ID, webhooks.Update{URL: &newURL, Enabled: &off}); err != nil || !again.UpdatedAt.Equal(upd.UpdatedAt) {
			t.Fatalf("no-op update: %+v, %v", again, err)
		}
		if countEvents(t, e.log) != before {
			t.Fatal("an update that changed nothing was recorded")
		}

		rotated, err := e.svc.RotateSecret(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rotated == secret || !strings.HasPrefix(rotated, "whsec_") {
			t.Fatalf("rotated secret %q", rotated)
		}
		if err := e.svc.Delete(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Get(ctx, sub.ID); !errors.Is(err, webhooks.ErrNotFound) {
			t.Fatalf("Get after delete = %v, want ErrNotFound", err)
		}

		evs := webhookEvents(t, e.log, sub.ID)
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
			if bytes.Contains(ev.Details, []byte(secret[6:])) || bytes.Contains(ev.Details, []byte(rotated[6:])) {
				t.Fatalf("%s records a secret: %s", ev.Type, ev.Details)
			}
			for _, token := range []string{"pathtoken", "querytoken"} {
				if bytes.Contains(ev.Details, []byte(token)) {
					t.Fatalf("%s records the receiver's token from the URL: %s", ev.Type, ev.Details)
				}
			}
		}
		want := []string{audit.TypeWebhookCreated, audit.TypeWebhookUpdated, audit.TypeWebhookUpdated, audit.TypeWebhookDeleted}
		if !slices.Equal(types, want) {
			t.Fatalf("recorded %v, want %v", types, want)
		}
		var created struct {
			URL        map[string]any `json:"url"`
			EventTypes []string       `json:"event_types"`
		}
		if err := json.Unmarshal(evs[0].Details, &created); err != nil || !recordsURL(created.URL, firstURL) ||
			!slices.Equal(created.EventTypes, sub.EventTypes) {
			t.Errorf("created event details: %s", evs[0].Details)
		}
		if c := changed(t, evs[1]); len(c) != 2 || c["enabled"] != false {
			t.Errorf("update event names %v, want url and enabled", c)
		} else if u, _ := c["url"].(map[string]any); !recordsURL(u, newURL) {
			t.Errorf("update event records the URL as %v", c["url"])
		}
		if c := changed(t, evs[2]); len(c) != 1 || c["secret"] == nil {
			t.Errorf("rotation event names %v, want secret only", c)
		}
		var deleted struct {
			URL map[string]any `json:"url"`
		}
		if err := json.Unmarshal(evs[3].Details, &deleted); err != nil || !recordsURL(deleted.URL, newURL) {
			t.Errorf("deleted event details: %s", evs[3].Details)
		}
	})
}

func TestAChangeWhoseAuditEventCannotBeRecordedDoesNotHappen(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{})
		sub, _ := e.create(t, "https://hooks.example.com/a", "*")
		// With the audit table gone, every Record fails; each change must fail with it.
		if _, err := db.Exec(ctx, `ALTER TABLE audit_pending RENAME TO audit_pending_away`); err != nil {
			t.Fatal(err)
		}
		_, _, createErr := e.svc.Create(ctx, "https://hooks.example.com/b", []string{"*"})
		off := false
		_, updateErr := e.svc.Update(ctx, sub.ID, webhooks.Update{Enabled: &off})
		_, rotateErr := e.svc.RotateSecret(ctx, sub.ID)
		deleteErr := e.svc.Delete(ctx, sub.ID)
		var enc []byte
		if err := db.QueryRow(ctx, `SELECT secret_enc FROM webhook_subscriptions WHERE id = $1`, sub.ID).Scan(&enc); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `ALTER TABLE audit_pending_away RENAME TO audit_pending`); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{"create": createErr, "update": updateErr, "rotate": rotateErr, "delete": deleteErr} {
			if err == nil {
				t.Errorf("%s succeeded without its audit event", name)
			}
		}
		page, err := e.svc.List(ctx, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Subscriptions) != 1 || !page.Subscriptions[0].Enabled || !page.Subscriptions[0].UpdatedAt.Equal(sub.UpdatedAt) {
			t.Fatalf("after failed changes: %+v, want the first subscription untouched", page.Subscriptions)
		}
		var encNow []byte
		if err := db.QueryRow(ctx, `SELECT secret_enc FROM webhook_subscriptions WHERE id = $1`, sub.ID).Scan(&encNow); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, encNow) {
			t.Fatal("the secret was rotated although its audit event failed")
		}
	})
}

func TestRefusedAndMissingChangesRecordNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{})
		sub, _ := e.create(t, "https://hooks.example.com/a", "*")
		before := countEvents(t, e.log)
		bad, on := "ftp://hooks.example.com/", true
		if _, err := e.svc.Update(ctx, sub.ID, webhooks.Update{URL: &bad, Enabled: &on}); !isValidation(err, "url") {
			t.Errorf("update with a bad URL = %v", err)
		}
		if _, err := e.svc.Update(ctx, "nosuchid", webhooks.Update{Enabled: &on}); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("update of an unknown id = %v, want ErrNotFound", err)
		}
		if _, err := e.svc.RotateSecret(ctx, "nosuchid"); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("rotate of an unknown id = %v, want ErrNotFound", err)
		}
		if err := e.svc.Delete(ctx, "nosuchid"); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("delete of an unknown id = %v, want ErrNotFound", err)
		}
		if _, err := e.svc.Get(ctx, "nosuchid"); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("get of an unknown id = %v, want ErrNotFound", err)
		}
		if _, err := e.svc.Deliveries(ctx, "nosuchid", 10, ""); !errors.Is(err, webhooks.ErrNotFound) {
			t.Errorf("deliveries of an unknown id = %v, want ErrNotFound", err)
		}
		if n := countEvents(t, e.log); n != before {
			t.Fatalf("%d events recorded by refused changes", n-before)
		}
	})
}

// fakeClock is a settable time source.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func TestListPagesNewestFirstWithCursors(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{})
		clock := &fakeClock{now: time.Now().UTC()}
		svc := webhooks.New(db, e.kr, e.log, webhooks.Config{}, clock.Now)
		var want []string
		for range 5 {
			sub, _, err := svc.Create(ctx, "https://hooks.example.com/x", []string{"*"})
			if err != nil {
				t.Fatal(err)
			}
			want = append([]string{sub.ID}, want...)
		}
		var got []string
		cursor, pages := "", 0
		for {
			p, err := svc.List(ctx, 2, cursor)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, s := range p.Subscriptions {
				got = append(got, s.ID)
			}
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) || pages != 3 {
			t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, want)
		}
		if _, err := svc.List(ctx, 2, "not a cursor!"); !errors.Is(err, webhooks.ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
		if _, err := svc.Deliveries(ctx, want[0], 2, "bm90IGEgY3Vyc29y"); !errors.Is(err, webhooks.ErrBadCursor) {
			t.Errorf("bad deliveries cursor: %v", err)
		}
		for _, limit := range []int{0, -1, webhooks.MaxPageSize + 1} {
			if _, err := svc.List(ctx, limit, ""); !isValidation(err, "limit") {
				t.Errorf("limit %d: %v", limit, err)
			}
		}
	})
}

func isValidation(err error, field string) bool {
	var ve *webhooks.ValidationError
	return errors.As(err, &ve) && len(ve.Errors) == 1 && ve.Errors[0].Field == field && ve.Errors[0].Reason != ""
}

func TestCreateRefusesBadURLsAndEventTypesBeforeWriting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{}) // private networks not allowed
		before := countEvents(t, e.log)       // the PostgreSQL database is shared
		long := "https://hooks.example.com/" + strings.Repeat("a", 2048-len("https://hooks.example.com/"))
		badURLs := map[string]string{
			"not http":           "ftp://hooks.example.com/hook",
			"javascript":         "javascript:alert(1)",
			"relative":           "/hook",
			"no scheme":          "hooks.example.com/hook",
			"empty":              "",
			"no host":            "https:///hook",
			"user info":          "https://user:pw@hooks.example.com/hook",
			"user only":          "https://user@hooks.example.com/hook",
			"fragment":           "https://hooks.example.com/hook#part",
			"empty fragment":     "https://hooks.example.com/hook#",
			"too long":           long + "a",
			"bad port":           "https://hooks.example.com:99999/hook",
			"loopback":           "http://127.0.0.1:8080/hook",
			"loopback v6":        "http://[::1]/hook",
			"private":            "http://10.1.2.3/hook",
			"metadata":           "http://169.254.169.254/latest/meta-data/",
			"unspecified":        "http://0.0.0.0/hook",
			"cgnat":              "http://100.64.0.1/hook",
			"mapped loopback":    "http://[::ffff:127.0.0.1]/hook",
			"localhost":          "http://localhost:9000/hook",
			"localhost trailing": "http://LOCALHOST./hook",
			"sub.localhost":      "http://api.localhost/hook",
			"invalid utf8":       "https://hooks.example.com/\xff",
			"control char":       "https://hooks.example.com/a\x00b",
		}
		for name, u := range badURLs {
			if _, _, err := e.svc.Create(ctx, u, []string{"*"}); !isValidation(err, "url") {
				t.Errorf("%s (%q): %v, want a url ValidationError", name, u, err)
			}
		}
		tooMany := make([]string, 51)
		for i := range tooMany {
			tooMany[i] = "*"
		}
		badTypes := map[string][]string{
			"none":         nil,
			"empty":        {""},
			"unknown":      {"made.up"},
			"misspelt":     {"admin.tokn.*"},
			"bare prefix":  {"admin.token"},
			"duplicate":    {"admin.token.*", "system.started", "admin.token.*"},
			"too many":     tooMany,
			"inner glob":   {"admin.*.created"},
			"good and bad": {"*", "nope"},
		}
		for name, types := range badTypes {
			if _, _, err := e.svc.Create(ctx, "https://hooks.example.com/hook", types); !isValidation(err, "event_types") {
				t.Errorf("%s %q: %v, want an event_types ValidationError", name, types, err)
			}
		}
		if n := countEvents(t, e.log); n != before {
			t.Fatalf("refused creates recorded %d events", n-before)
		}

		// The limits themselves are allowed.
		if _, _, err := e.svc.Create(ctx, long, []string{"*"}); err != nil {
			t.Errorf("a URL of exactly 2048 bytes: %v", err)
		}
		for _, u := range []string{"http://hooks.example.com/hook", "https://93.184.216.34:8443/hook?x=1", "https://[2606:4700:4700::1111]/hook"} {
			if _, _, err := e.svc.Create(ctx, u, []string{"admin.token.*", "webhook.created"}); err != nil {
				t.Errorf("%s: %v", u, err)
			}
		}
		// With private networks allowed, local receivers are fine.
		local := webhooks.New(db, e.kr, e.log, webhooks.Config{AllowPrivateNetworks: true}, time.Now)
		for _, u := range []string{"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.0.0.1/hook"} {
			if _, _, err := local.Create(ctx, u, []string{"*"}); err != nil {
				t.Errorf("%s with private networks allowed: %v", u, err)
			}
		}
	})
}

func TestUpdateValidatesWhatItChanges(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, webhooks.Config{})
		sub, _ := e.create(t, "https://hooks.example.com/a", "*")
		for name, u := range map[string]webhooks.Update{
			"loopback url":     {URL: ptr("http://127.0.0.1/hook")},
			"fragment":         {URL: ptr("https://hooks.example.com/a#b")},
			"no types":         {EventTypes: &[]string{}},
			"unknown type":     {EventTypes: &[]string{"user.teleported"}},
			"good url bad typ": {URL: ptr("https://hooks.example.com/b"), EventTypes: &[]string{"*", "*"}},
		} {
			if _, err := e.svc.Update(ctx, sub.ID, u); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		got, err := e.svc.Get(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.URL != sub.URL || !slices.Equal(got.EventTypes, sub.EventTypes) {
			t.Fatalf("refused updates changed the subscription: %+v", got)
		}
		types := []string{"system.*", "admin.token.revoked"}
		upd, err := e.svc.Update(ctx, sub.ID, webhooks.Update{EventTypes: &types})
		if err != nil || !slices.Equal(upd.EventTypes, types) {
			t.Fatalf("update of event types: %+v, %v", upd, err)
		}
		evs := webhookEvents(t, e.log, sub.ID)
		if c := changed(t, evs[len(evs)-1]); len(c) != 1 || c["event_types"] == nil {
			t.Fatalf("update event names %v, want event_types only", c)
		}
	})
}

func ptr[T any](v T) *T { return &v }
