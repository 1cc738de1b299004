package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store/storetest"
)

// createdClient is what clients create and rotate-secret print with --output json.
type createdClient struct {
	ID                      string   `json:"client_id"`
	Secret                  *string  `json:"client_secret"`
	Name                    string   `json:"name"`
	Public                  bool     `json:"public"`
	FirstParty              bool     `json:"first_party"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	Scopes                  []string `json:"scopes"`
	Audience                []string `json:"audience"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	AccessTokenFormat       string   `json:"access_token_format"`
	AccessTokenLifetime     int64    `json:"access_token_lifetime"`
	HasSecret               bool     `json:"has_secret"`
}

// oneJSONObject decodes out, which must be exactly one JSON object, into v.
func oneJSONObject(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("output %q holds more than one JSON object", out)
	}
}

// verifySecret checks a secret for the client id in the database at url, as the token
// endpoint would: through a registry of its own, whose cache has never seen the client.
func verifySecret(t *testing.T, url, id, secret string) error {
	t.Helper()
	db := openTestStore(t, url)
	return clients.New(db, audittest.NewLog(t, db), nil, clients.Config{}).VerifySecret(context.Background(), id, secret)
}

func TestClientsCreatePrintsOneJSONObjectWhoseSecretAuthenticates(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")
		o := mustRun(t, env, "clients", "create", "--name", "Invoices", "--grant-type", "authorization_code,refresh_token",
			"--redirect-uri", "https://invoices.example.com/callback", "--scope", "openid", "--scope", "profile,offline_access",
			"--first-party", "--audience", "https://api.example.com", "--post-logout-redirect-uri", "https://invoices.example.com/",
			"--access-token-format", "opaque", "--access-token-lifetime", "15m", "--backchannel-logout-uri", "https://invoices.example.com/bc",
			"--output", "json")
		var web createdClient
		oneJSONObject(t, o.stdout, &web)
		if web.ID == "" || web.Secret == nil || !strings.HasPrefix(*web.Secret, clients.SecretPrefix) || !web.HasSecret {
			t.Fatalf("created %s", o.stdout)
		}
		if web.Name != "Invoices" || !web.FirstParty || web.Public || web.TokenEndpointAuthMethod != clients.AuthClientSecretBasic ||
			!slices.Equal(web.GrantTypes, []string{"authorization_code", "refresh_token"}) ||
			!slices.Equal(web.Scopes, []string{"openid", "profile", "offline_access"}) ||
			!slices.Equal(web.Audience, []string{"https://api.example.com"}) || web.AccessTokenFormat != "opaque" ||
			web.AccessTokenLifetime != 900 {
			t.Errorf("created %s", o.stdout)
		}
		if strings.Contains(o.stderr, *web.Secret) {
			t.Errorf("stderr repeats the secret: %q", o.stderr)
		}
		if err := verifySecret(t, url, web.ID, *web.Secret); err != nil {
			t.Fatalf("the printed secret does not authenticate the client: %v", err)
		}

		// Nothing shows the secret again.
		for _, args := range [][]string{{"clients", "get", web.ID}, {"clients", "get", web.ID, "--output", "json"},
			{"clients", "list"}, {"clients", "list", "--output", "json"}} {
			o := mustRun(t, env, args...)
			if strings.Contains(o.stdout, *web.Secret) || strings.Contains(o.stdout, `"client_secret"`) ||
				strings.Contains(o.stdout, "client_secret (") || !strings.Contains(o.stdout, web.ID) {
				t.Errorf("identityd %s:\n%s", strings.Join(args, " "), o.stdout)
			}
		}
		var got createdClient
		oneJSONObject(t, mustRun(t, env, "clients", "get", web.ID, "--output", "json").stdout, &got)
		if got.ID != web.ID || got.Secret != nil || !got.HasSecret || got.AccessTokenLifetime != 900 {
			t.Errorf("get --output json: %+v", got)
		}

		// A new secret; the old one stops working.
		o = mustRun(t, env, "clients", "rotate-secret", web.ID, "--output", "json")
		var rotated createdClient
		oneJSONObject(t, o.stdout, &rotated)
		if rotated.ID != web.ID || rotated.Secret == nil || *rotated.Secret == *web.Secret {
			t.Fatalf("rotate-secret: %s", o.stdout)
		}
		if err := verifySecret(t, url, web.ID, *web.Secret); !errors.Is(err, clients.ErrInvalidSecret) {
			t.Errorf("the old secret after rotate-secret: %v, want ErrInvalidSecret", err)
		}
		if err := verifySecret(t, url, web.ID, *rotated.Secret); err != nil {
			t.Errorf("the new secret: %v", err)
		}
		o = mustRun(t, env, "clients", "rotate-secret", web.ID)
		secret, ok := labelled(o.stdout, "client_secret (shown once)")
		if !ok || !strings.HasPrefix(secret, clients.SecretPrefix) || !strings.Contains(o.stderr, "shown only now") {
			t.Errorf("rotate-secret as text: %v", o)
		} else if err := verifySecret(t, url, web.ID, secret); err != nil {
			t.Errorf("the secret rotate-secret printed as text: %v", err)
		}

		// A public client has none, and none can be rotated in.
		o = mustRun(t, env, "clients", "create", "--name", "Mobile", "--public", "--grant-type", "authorization_code",
			"--redirect-uri", "com.example.app:/callback", "--redirect-uri", "http://127.0.0.1/callback", "--scope", "openid", "--output", "json")
		var mobile createdClient
		oneJSONObject(t, o.stdout, &mobile)
		if mobile.Secret != nil || mobile.HasSecret || !mobile.Public || mobile.TokenEndpointAuthMethod != clients.AuthNone ||
			len(mobile.RedirectURIs) != 2 {
			t.Errorf("a public client: %s", o.stdout)
		}
		o = runCLI(t, env, "clients", "rotate-secret", mobile.ID)
		if o.code != exitFailure || !strings.Contains(o.stderr, "is public") || o.stdout != "" {
			t.Errorf("rotate-secret of a public client: %v", o)
		}

		// Text output labels the secret.
		o = mustRun(t, env, "clients", "create", "--name", "Reports", "--grant-type", "client_credentials")
		secret, ok = labelled(o.stdout, "client_secret (shown once)")
		id, _ := labelled(o.stdout, "client_id")
		if !ok || !strings.Contains(o.stderr, "shown only now") || verifySecret(t, url, id, secret) != nil {
			t.Errorf("create as text: %v", o)
		}

		mustRun(t, env, "clients", "delete", mobile.ID)
		for _, args := range [][]string{{"get", mobile.ID}, {"delete", mobile.ID}, {"rotate-secret", mobile.ID}, {"get", "no\x00such"}} {
			o := runCLI(t, env, append([]string{"clients"}, args...)...)
			if o.code != exitFailure || !strings.Contains(o.stderr, "no client has id") {
				t.Errorf("clients %s of an unknown client: %v", args[0], o)
			}
		}
		var n int
		for range lines(mustRun(t, env, "clients", "list", "--output", "json").stdout) {
			n++
		}
		if n != 2 {
			t.Errorf("%d clients listed, want 2", n)
		}

		// Every change is audited as done through the command line.
		var events []string
		sc := bufio.NewScanner(strings.NewReader(mustRun(t, env, "audit", "export").stdout))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct {
				Type  string `json:"type"`
				Actor struct{ Kind, ID string }
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(ev.Type, "client.") {
				events = append(events, ev.Type)
				if ev.Actor.ID != "cli" {
					t.Errorf("%s by %+v, want the CLI", ev.Type, ev.Actor)
				}
			}
		}
		want := []string{"client.created", "client.secret_rotated", "client.secret_rotated", "client.created", "client.created", "client.deleted"}
		if !slices.Equal(events, want) {
			t.Errorf("events %v, want %v", events, want)
		}
	})
}

// labelled finds the value of the row labelled label in text output.
func labelled(out, label string) (string, bool) {
	for _, l := range lines(out) {
		if v, ok := strings.CutPrefix(l, label); ok && strings.HasPrefix(v, " ") {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func TestClientsCreateNamesEveryRefusedFlagAndCreatesNothing(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		env := dbEnv(url)
		mustRun(t, env, "migrate", "up")
		o := wantUsage(t, env, "clients", "create", "--name", " x", "--grant-type", "password", "--grant-type", "refresh_token",
			"--redirect-uri", "javascript:alert(1)", "--scope", "Bad Scope", "--access-token-lifetime", "30s", "--output", "json")
		for _, want := range []string{`--name: must not start or end with spaces`, `--grant-type "password": `,
			`--redirect-uri "javascript:alert(1)": must not use the javascript: scheme`, `--scope "Bad Scope": `,
			`--access-token-lifetime: must be 0 (the server's default) or between 1m and 24h`} {
			if !strings.Contains(o.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, o.stderr)
			}
		}
		if o.stdout != "" {
			t.Errorf("stdout %q, want nothing", o.stdout)
		}
		jwks := filepath.Join(t.TempDir(), "jwks.json")
		if err := os.WriteFile(jwks, []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}`), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--grant-type", "client_credentials"}, "--name: is required"},
			{[]string{"--name", "x"}, "--grant-type: must hold at least one grant type"},
			{[]string{"--name", "x", "--public", "--grant-type", "client_credentials"}, "--grant-type: client_credentials is only for confidential clients"},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--auth-method", "private_key_jwt"}, "--jwks-file: private_key_jwt needs"},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--auth-method", "private_key_jwt", "--jwks-file", jwks}, "--jwks-file: keys[0]: holds private key material"},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--jwks-file", filepath.Join(t.TempDir(), "missing")}, "--jwks-file: "},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--auth-method", "magic"}, "--auth-method: "},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--access-token-format", "paseto"}, `--access-token-format: must be "jwt" or "opaque"`},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--output", "yaml"}, "--output must be text or json"},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "--access-token-lifetime", "soon"}, `invalid argument "soon"`},
			{[]string{"--name", "x", "--grant-type", "client_credentials", "extra"}, "accepts 0 arg(s)"},
		} {
			o := wantUsage(t, env, append([]string{"clients", "create"}, tc.args...)...)
			if !strings.Contains(o.stderr, tc.want) {
				t.Errorf("create %q: stderr %q, want %q in it", tc.args, o.stderr, tc.want)
			}
		}
		wantUsage(t, env, "clients", "list", "--output", "yaml")
		wantUsage(t, env, "clients", "get")
		wantUsage(t, env, "clients", "delete", "a", "b")
		wantUsage(t, env, "clients", "rotate-secret", "x", "--output", "xml")
		if n := storetest.Count(t, openTestStore(t, url), "oauth_clients"); n != 0 {
			t.Errorf("%d clients after refused creates, want none", n)
		}
	})
}

// readmeCommand is the arguments of the identityd command that opens the first sh block
// of the README's section heading: the example operators copy and paste.
func readmeCommand(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", heading)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatalf("README.md's section %q has no sh block", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	line := strings.ReplaceAll(block, "\\\n", " ")
	line, _, _ = strings.Cut(line, "\n")
	// Shell words: spaces separate them, double quotes group them.
	var words []string
	var word strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	if len(words) == 0 || words[0] != "identityd" {
		t.Fatalf("README.md's section %q does not start with an identityd command: %q", heading, line)
	}
	return words[1:]
}

func TestTheREADMEsClientExamplePrintsAClientAndItsSecret(t *testing.T) {
	url := storetest.SQLiteURL(t)
	env := dbEnv(url)
	mustRun(t, env, "migrate", "up")
	args := readmeCommand(t, "## OAuth clients")
	if !slices.Equal(args[:2], []string{"clients", "create"}) || !slices.Contains(args, "--output") {
		t.Fatalf("the README's example is %q, want clients create … --output json", args)
	}
	var c createdClient
	oneJSONObject(t, mustRun(t, env, args...).stdout, &c)
	if c.Secret == nil || verifySecret(t, url, c.ID, *c.Secret) != nil || c.Name != "My app" {
		t.Errorf("the README's example made %+v", c)
	}
}
