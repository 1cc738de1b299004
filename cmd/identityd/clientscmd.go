package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/server"
)

func newClientsCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{
		Use:   "clients",
		Short: "Register, list, change and delete OAuth clients",
		Long: `Work on the OAuth 2 / OpenID Connect clients (the apps that sign users in through
identityd) of the configured database directly, beside a running server or without one.
Changes are audited, so the encryption keys must be at hand. A running server sees a
change at once on PostgreSQL, and within a second on the embedded database.`,
	})
	// withClients runs fn with the client registry of the configured database.
	withClients := func(fn func(cmd *cobra.Command, args []string, s *clients.Service) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			o, err := openOperator(cmd, e, true)
			if err != nil {
				return err
			}
			defer o.close()
			cmd.SetContext(cliContext(cmd.Context()))
			return fn(cmd, args, clients.New(o.db, o.log, time.Now, server.ClientsConfig(o.cfg)))
		}
	}
	cmd.AddCommand(newClientsCreateCmd(e, withClients), newClientsListCmd(e, withClients),
		newClientsGetCmd(e, withClients), newClientsDeleteCmd(e, withClients), newClientsRotateSecretCmd(e, withClients))
	return cmd
}

type clientsRunner = func(fn func(cmd *cobra.Command, args []string, s *clients.Service) error) func(*cobra.Command, []string) error

// clientWithSecret is what create and rotate-secret print with --output json: the client
// as the management API shows it, and the secret just issued (none for a client without
// one).
type clientWithSecret struct {
	api.Client
	ClientSecret string `json:"client_secret,omitempty"`
}

func newClientsCreateCmd(e *env, withClients clientsRunner) *cobra.Command {
	var (
		n                            clients.Settings
		jwksFile, output             string
		accessTTL, refreshTTL, idTTL time.Duration
	)
	create := &cobra.Command{
		Use:   "create --name NAME --grant-type GRANT...",
		Short: "Register a client and print it, with its secret if it has one",
		Long: `Register an OAuth 2 / OpenID Connect client. A confidential client that authenticates
with a secret (client_secret_basic, the default, or client_secret_post) is given one: it
is printed only now, and identityd keeps only its SHA-256. A public client (--public: a
native or single-page app, which must use PKCE) and a private_key_jwt client get none.

With --output json the command prints one JSON object: the client as the management API
shows it (client_id, name, redirect_uris, …, lifetimes in seconds) and client_secret.
Every refused flag is reported at once; the command then exits 2.`,
		Example: `  identityd clients create --name Invoices --grant-type authorization_code --grant-type refresh_token \
    --redirect-uri https://invoices.example.com/callback --scope openid,profile,email,offline_access --output json
  identityd clients create --name "Mobile app" --public --grant-type authorization_code \
    --redirect-uri com.example.app:/callback --scope openid
  identityd clients create --name Reports --grant-type client_credentials --audience https://api.example.com`,
		Args: exactArgs(0),
		RunE: withClients(func(cmd *cobra.Command, _ []string, s *clients.Service) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if jwksFile != "" {
				b, err := readFile(e.stdin, jwksFile, clients.MaxJWKSBytes)
				if err != nil {
					return usageError{fmt.Errorf("--jwks-file: %w", err)}
				}
				n.JWKS = b
			}
			n.AccessTokenLifetime, n.RefreshTokenLifetime, n.IDTokenLifetime = accessTTL, refreshTTL, idTTL
			c, secret, err := s.Create(cmd.Context(), n)
			var ve *clients.ValidationError
			if errors.As(err, &ve) {
				return usageError{errors.New(flagErrors(ve, n))}
			}
			if err != nil {
				return err
			}
			if err := printClient(e.stdout, output, c, secret); err != nil {
				return err
			}
			if secret != "" && output == "text" {
				fmt.Fprintln(e.stderr, "The client secret is shown only now: store it safely. identityd keeps only its SHA-256.")
			}
			return nil
		}),
	}
	f := create.Flags()
	f.StringVar(&n.Name, "name", "", "the app's name, shown to users on the consent page (required)")
	f.StringSliceVar(&n.GrantTypes, "grant-type", nil, "authorization_code, refresh_token or client_credentials; repeat or comma-separate (required)")
	f.StringArrayVar(&n.RedirectURIs, "redirect-uri", nil, "an exact URI the authorization code may be sent to; repeat for more (needed with authorization_code)")
	f.StringSliceVar(&n.Scopes, "scope", nil, "a scope the client may ask for (openid, profile, email, offline_access, or your own like invoices:read); repeat or comma-separate")
	f.BoolVar(&n.Public, "public", false, "a native or single-page app: no secret, PKCE required (fixed at creation)")
	f.BoolVar(&n.FirstParty, "first-party", false, "one of your own apps: users are not asked for consent")
	f.StringArrayVar(&n.Audience, "audience", nil, "a resource server the client may ask tokens for; repeat for more")
	f.StringArrayVar(&n.PostLogoutRedirectURIs, "post-logout-redirect-uri", nil, "an exact URI users may be sent to after signing out; repeat for more")
	f.StringVar(&n.TokenEndpointAuthMethod, "auth-method", "", "client_secret_basic (default for confidential clients), client_secret_post, private_key_jwt or none (public clients)")
	f.StringVar(&n.JWKSURI, "jwks-uri", "", "for private_key_jwt: the https URL of the client's public keys (a JWK Set)")
	f.StringVar(&jwksFile, "jwks-file", "", "for private_key_jwt: a file holding the client's public keys as a JWK Set (- reads stdin)")
	f.StringVar(&n.AccessTokenFormat, "access-token-format", "", "jwt (default: resource servers verify tokens themselves) or opaque (they introspect them)")
	f.DurationVar(&accessTTL, "access-token-lifetime", 0, "how long the client's access tokens live, 1m to 24h (default: the server's)")
	f.DurationVar(&refreshTTL, "refresh-token-lifetime", 0, "how long its refresh tokens live, 1m to 8760h (default: the server's)")
	f.DurationVar(&idTTL, "id-token-lifetime", 0, "how long its ID tokens live, 1m to 24h (default: the server's)")
	f.StringVar(&n.IDTokenSignedResponseAlg, "id-token-alg", "", "how its ID tokens are signed: RS256 (default, what every OpenID Connect client accepts) or ES256")
	f.StringVar(&n.BackchannelLogoutURI, "backchannel-logout-uri", "", "where OpenID Connect back-channel logout tokens are POSTed")
	f.BoolVar(&n.IntrospectAnyToken, "introspect-any-token", false, "let this confidential client (a resource server) introspect tokens of any audience")
	f.StringVar(&output, "output", "text", "text or json (one object)")
	return create
}

// readFile reads path, or stdin for "-", refusing more than limit bytes.
func readFile(stdin io.Reader, path string, limit int64) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("must be at most %d KiB", limit>>10)
	}
	return b, nil
}

// clientFlags names the flag of create that sets each registration field.
var clientFlags = map[string]string{
	"name": "--name", "public": "--public", "first_party": "--first-party", "redirect_uris": "--redirect-uri",
	"post_logout_redirect_uris": "--post-logout-redirect-uri", "grant_types": "--grant-type", "scopes": "--scope",
	"audience": "--audience", "token_endpoint_auth_method": "--auth-method", "jwks": "--jwks-file",
	"jwks_uri": "--jwks-uri", "access_token_format": "--access-token-format",
	"access_token_lifetime": "--access-token-lifetime", "refresh_token_lifetime": "--refresh-token-lifetime",
	"id_token_lifetime": "--id-token-lifetime", "id_token_signed_response_alg": "--id-token-alg",
	"backchannel_logout_uri": "--backchannel-logout-uri",
	"introspect_any_token":   "--introspect-any-token",
}

// flagErrors says what was wrong with each refused field in terms of the flags of
// create, one line each: `--redirect-uri "http://app.example.com/cb": may use http only
// on …`.
func flagErrors(ve *clients.ValidationError, n clients.Settings) string {
	lists := map[string][]string{"redirect_uris": n.RedirectURIs, "post_logout_redirect_uris": n.PostLogoutRedirectURIs,
		"grant_types": n.GrantTypes, "scopes": n.Scopes, "audience": n.Audience}
	parts := make([]string, len(ve.Errors))
	for i, fe := range ve.Errors {
		field, rest, _ := strings.Cut(fe.Field, "[")
		name, sub, _ := strings.Cut(field, ".")
		flag, ok := clientFlags[name]
		if !ok {
			flag = fe.Field
		}
		switch {
		case sub != "": // jwks.keys[0]
			flag += ": " + sub + "[" + rest
		case rest != "":
			idx, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
			if items := lists[name]; err == nil && idx >= 0 && idx < len(items) {
				flag += " " + strconv.Quote(items[idx])
			}
		}
		parts[i] = "  " + flag + ": " + fe.Reason
	}
	return fmt.Sprintf("the client was not registered: %d problem(s):\n%s", len(parts), strings.Join(parts, "\n"))
}

// printClient writes c, and its secret if one was just issued, as text or one JSON
// object.
func printClient(w io.Writer, output string, c clients.Client, secret string) error {
	if output == "json" {
		return json.NewEncoder(w).Encode(clientWithSecret{Client: api.FromClient(c), ClientSecret: secret})
	}
	v := api.FromClient(c)
	lifetime := func(secs int64) string {
		if secs == 0 {
			return "server default"
		}
		return (time.Duration(secs) * time.Second).String()
	}
	kind := "confidential"
	if v.Public {
		kind = "public"
	}
	secretState := "none"
	switch {
	case v.HasSecret && v.SecretRotatedAt != nil:
		secretState = "set, last rotated " + v.SecretRotatedAt.Format(time.RFC3339)
	case v.HasSecret:
		secretState = "set"
	case c.TokenEndpointAuthMethod == clients.AuthClientSecretBasic || c.TokenEndpointAuthMethod == clients.AuthClientSecretPost:
		secretState = "none yet: identityd clients rotate-secret " + v.ID + " issues one"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("client_id", v.ID)
	if secret != "" {
		row("client_secret (shown once)", secret)
	}
	row("name", v.Name)
	row("type", kind)
	row("first_party", strconv.FormatBool(v.FirstParty))
	row("grant_types", strings.Join(v.GrantTypes, " "))
	row("redirect_uris", strings.Join(v.RedirectURIs, " "))
	row("post_logout_redirect_uris", strings.Join(v.PostLogoutRedirectURIs, " "))
	row("scopes", strings.Join(v.Scopes, " "))
	row("audience", strings.Join(v.Audience, " "))
	row("token_endpoint_auth_method", v.TokenEndpointAuthMethod)
	if v.JWKSURI != "" {
		row("jwks_uri", v.JWKSURI)
	}
	if v.JWKS != nil {
		row("jwks", string(v.JWKS))
	}
	row("secret", secretState)
	row("access_token_format", v.AccessTokenFormat)
	row("access_token_lifetime", lifetime(v.AccessTokenLifetime))
	row("refresh_token_lifetime", lifetime(v.RefreshTokenLifetime))
	row("id_token_lifetime", lifetime(v.IDTokenLifetime))
	row("id_token_signed_response_alg", v.IDTokenAlg)
	if v.BackchannelLogoutURI != "" {
		row("backchannel_logout_uri", v.BackchannelLogoutURI)
	}
	row("introspect_any_token", strconv.FormatBool(v.IntrospectAnyToken))
	row("created_at", v.CreatedAt.Format(time.RFC3339))
	row("updated_at", v.UpdatedAt.Format(time.RFC3339))
	return tw.Flush()
}

// clientError says what went wrong with the client named id in words for an operator.
func clientError(id string, err error) error {
	switch {
	case errors.Is(err, clients.ErrNotFound):
		return fmt.Errorf("no client has id %q (see identityd clients list)", id)
	case errors.Is(err, clients.ErrPublicClient):
		return fmt.Errorf("client %s is public: it has no secret, and uses PKCE instead", id)
	case errors.Is(err, clients.ErrNoSecretAuth):
		return fmt.Errorf("client %s authenticates with private_key_jwt, not a secret", id)
	}
	return err
}

func newClientsListCmd(e *env, withClients clientsRunner) *cobra.Command {
	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List clients, newest first (never their secrets)",
		Args:  exactArgs(0),
		RunE: withClients(func(cmd *cobra.Command, _ []string, s *clients.Service) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			all, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) ([]clients.Client, string, error) {
				page, err := s.List(ctx, clients.MaxPageSize, cursor)
				return page.Clients, page.Next, err
			})
			if err != nil {
				return err
			}
			if output == "json" {
				return jsonLines(e.stdout, all, func(c clients.Client) any { return api.FromClient(c) })
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tAUTH\tGRANTS\tFIRST PARTY\tCREATED")
			for _, c := range all {
				kind := "confidential"
				if c.Public {
					kind = "public"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%t\t%s\n", c.ID, c.Name, kind, c.TokenEndpointAuthMethod,
					strings.Join(c.GrantTypes, ","), c.FirstParty, c.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&output, "output", "table", "table or json (one object per line)")
	return list
}

func newClientsGetCmd(e *env, withClients clientsRunner) *cobra.Command {
	var output string
	get := &cobra.Command{
		Use:   "get CLIENT_ID",
		Short: "Show a client (never its secret)",
		Args:  exactArgs(1),
		RunE: withClients(func(cmd *cobra.Command, args []string, s *clients.Service) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			c, err := s.Get(cmd.Context(), args[0])
			if err != nil {
				return clientError(args[0], err)
			}
			return printClient(e.stdout, output, c, "")
		}),
	}
	get.Flags().StringVar(&output, "output", "text", "text or json (one object)")
	return get
}

func newClientsDeleteCmd(e *env, withClients clientsRunner) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client: it stops working at once",
		Args:  exactArgs(1),
		RunE: withClients(func(cmd *cobra.Command, args []string, s *clients.Service) error {
			if err := s.Delete(cmd.Context(), args[0]); err != nil {
				return clientError(args[0], err)
			}
			fmt.Fprintf(e.stdout, "deleted client %s\n", args[0])
			return nil
		}),
	}
}

func newClientsRotateSecretCmd(e *env, withClients clientsRunner) *cobra.Command {
	var output string
	rotate := &cobra.Command{
		Use:   "rotate-secret CLIENT_ID",
		Short: "Give a client a new secret and print it; the old one stops working at once",
		Long: `Issue a new secret to a confidential client that authenticates with one
(client_secret_basic or client_secret_post). It is printed only now; the old secret stops
working at once. With --output json the command prints one JSON object, as create does.`,
		Args: exactArgs(1),
		RunE: withClients(func(cmd *cobra.Command, args []string, s *clients.Service) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			c, secret, err := s.RotateSecret(cmd.Context(), args[0])
			if err != nil {
				return clientError(args[0], err)
			}
			if err := printClient(e.stdout, output, c, secret); err != nil {
				return err
			}
			if output == "text" {
				fmt.Fprintln(e.stderr, "The client secret is shown only now: store it safely. The old one no longer works.")
			}
			return nil
		}),
	}
	rotate.Flags().StringVar(&output, "output", "text", "text or json (one object)")
	return rotate
}
