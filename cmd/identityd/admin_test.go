package main

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// tokenLine is the whole of what admin token create prints on stdout.
var tokenLine = regexp.MustCompile(`^idd_admin_[A-Za-z0-9_-]{43}\n$`)

// listedToken is one line of admin token list --output json.
type listedToken struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// listTokens runs admin token list --output json and decodes each line; it fails the
// test if a line holds anything but the documented fields.
func listTokens(t *testing.T, env []string) []listedToken {
	t.Helper()
	o := mustRun(t, env, "admin", "token", "list", "--output", "json")
	var out []listedToken
	for _, line := range lines(o.stdout) {
		var fields map[string]any
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", line, err)
		}
		for k := range fields {
			switch k {
			case "id", "name", "created_at", "expires_at", "revoked_at", "last_used_at":
			default:
				t.Errorf("listed token has the field %q: %s", k, line)
			}
		}
		var tok listedToken
		if err := json.Unmarshal([]byte(line), &tok); err != nil {
			t.Fatal(err)
		}
		out = append(out, tok)
	}
	return out
}

// openTestStore opens the database at url for the test to check what a command did.
func openTestStore(t *testing.T, url string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestAdminTokenCreatePrintsOnlyTheTokenAndTheTokenAuthenticates(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")

		before := time.Now()
		o := mustRun(t, env, "admin", "token", "create", "--name", "ci", "--ttl", "2h")
		if !tokenLine.MatchString(o.stdout) {
			t.Fatalf("stdout %q: want the token alone on one line", o.stdout)
		}
		secret := strings.TrimSuffix(o.stdout, "\n")
		if strings.Contains(o.stderr, secret) || strings.Contains(o.stderr, secret[len(admintokens.Prefix):]) {
			t.Errorf("stderr repeats the token: %q", o.stderr)
		}
		toks := listTokens(t, env)
		if len(toks) != 1 || toks[0].Name != "ci" || toks[0].RevokedAt != nil {
			t.Fatalf("listed %+v, want the one token named ci", toks)
		}
		tok := toks[0]
		if !strings.Contains(o.stderr, tok.ID) || !strings.Contains(o.stderr, `"ci"`) {
			t.Errorf("stderr %q: want a note naming the token's id and name", o.stderr)
		}
		if ttl := tok.ExpiresAt.Sub(tok.CreatedAt); ttl != 2*time.Hour {
			t.Errorf("token valid for %s, want 2h", ttl)
		}
		if tok.CreatedAt.Before(before.Add(-time.Minute)) || tok.CreatedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("token created at %s, want about now", tok.CreatedAt)
		}

		db := openTestStore(t, url)
		tokens := admintokens.New(db, time.Now, audittest.NewLog(t, db))
		got, err := tokens.Verify(context.Background(), secret)
		if err != nil || got.ID != tok.ID {
			t.Fatalf("Verify(printed token) = %+v, %v; want token %s", got, err, tok.ID)
		}
	})
}

func TestAdminTokenCreateRefusesBadTTLsAndNamesAndCreatesNothing(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")
		tests := []struct {
			args []string
			want string
		}{
			{[]string{"--ttl", "10s"}, "--ttl: must be between 1m and 8760h"},
			{[]string{"--ttl", "9000h"}, "--ttl: must be between 1m and 8760h"},
			{[]string{"--ttl", "-1h"}, "--ttl: must be between 1m and 8760h"},
			{[]string{"--name", strings.Repeat("n", 101)}, "--name: must be at most 100 characters"},
			{[]string{"--name", "ci\x1b[2J"}, "--name: must contain only printable characters"},
			{[]string{"--name", " ci"}, "--name: must not start or end with spaces"},
		}
		for _, tt := range tests {
			o := wantUsage(t, env, append([]string{"admin", "token", "create"}, tt.args...)...)
			if o.stdout != "" || !strings.Contains(o.stderr, tt.want) {
				t.Errorf("create %q: want nothing on stdout and %q on stderr, got %v", tt.args, tt.want, o)
			}
		}
		if toks := listTokens(t, env); len(toks) != 0 {
			t.Errorf("refused creates left tokens: %+v", toks)
		}
		// The limits themselves are allowed.
		mustRun(t, env, "admin", "token", "create", "--ttl", "1m", "--name", strings.Repeat("n", 100))
		mustRun(t, env, "admin", "token", "create", "--ttl", "8760h")
	})
}

func TestAdminTokenListShowsTokensWithoutSecretsAndRevokeStopsThem(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")
		ciSecret := strings.TrimSuffix(mustRun(t, env, "admin", "token", "create", "--name", "ci").stdout, "\n")
		opsSecret := strings.TrimSuffix(mustRun(t, env, "admin", "token", "create", "--name", "ops team").stdout, "\n")

		toks := listTokens(t, env)
		if len(toks) != 2 || toks[0].Name != "ops team" || toks[1].Name != "ci" {
			t.Fatalf("listed %+v, want ops team then ci, newest first", toks)
		}
		ops, ci := toks[0], toks[1]

		table := mustRun(t, env, "admin", "token", "list")
		asJSON := mustRun(t, env, "admin", "token", "list", "--output", "json")
		for _, out := range []string{table.stdout, asJSON.stdout} {
			for _, secret := range []string{ciSecret, opsSecret, ciSecret[len(admintokens.Prefix):], opsSecret[len(admintokens.Prefix):], admintokens.Prefix} {
				if strings.Contains(out, secret) {
					t.Errorf("list shows a secret:\n%s", out)
				}
			}
		}
		rows := lines(table.stdout)
		if len(rows) != 3 || !regexp.MustCompile(`^ID\s+NAME\s+STATE\s+CREATED\s+EXPIRES\s+LAST USED$`).MatchString(rows[0]) {
			t.Fatalf("table: want a header and 2 rows, got:\n%s", table.stdout)
		}
		wantRow := func(row string, tok listedToken, state string) {
			t.Helper()
			re := regexp.MustCompile(`^` + regexp.QuoteMeta(tok.ID) + `\s+` + regexp.QuoteMeta(tok.Name) + `\s+` + state + `\s+\S+\s+\S+\s+never$`)
			if !re.MatchString(row) {
				t.Errorf("row %q: want %s, %s, %s, never used", row, tok.ID, tok.Name, state)
			}
		}
		wantRow(rows[1], ops, "active")
		wantRow(rows[2], ci, "active")

		o := mustRun(t, env, "admin", "token", "revoke", ci.ID)
		if want := `revoked admin token ` + ci.ID + ` ("ci")` + "\n"; o.stdout != want {
			t.Errorf("revoke printed %q, want %q", o.stdout, want)
		}
		rows = lines(mustRun(t, env, "admin", "token", "list").stdout)
		if len(rows) != 3 {
			t.Fatalf("table after revoke: %q", rows)
		}
		wantRow(rows[1], ops, "active")
		wantRow(rows[2], ci, "revoked")
		if toks := listTokens(t, env); toks[1].RevokedAt == nil || toks[0].RevokedAt != nil {
			t.Errorf("json after revoke: %+v, want only ci revoked", toks)
		}

		db := openTestStore(t, url)
		tokens := admintokens.New(db, time.Now, audittest.NewLog(t, db))
		if _, err := tokens.Verify(context.Background(), ciSecret); !errors.Is(err, admintokens.ErrInvalid) {
			t.Errorf("Verify(revoked token) = %v, want ErrInvalid", err)
		}
		if _, err := tokens.Verify(context.Background(), opsSecret); err != nil {
			t.Errorf("Verify(other token) = %v, want it still valid", err)
		}

		// Revoking again changes nothing and still succeeds.
		mustRun(t, env, "admin", "token", "revoke", ci.ID)

		o = runCLI(t, env, "admin", "token", "revoke", "nosuchtoken")
		if o.code != exitFailure || o.stderr != `identityd: no admin token has id "nosuchtoken" (see identityd admin token list)`+"\n" {
			t.Errorf("revoke of an unknown id: want exit 1 and a clear message, got %v", o)
		}
		wantUsage(t, env, "admin", "token", "list", "--output", "yaml")
	})
}
