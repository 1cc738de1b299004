package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/admintokens"
)

func newAdminCmd(e *env) *cobra.Command {
	admin := groupCmd(&cobra.Command{Use: "admin", Short: "Administer identityd"})
	token := groupCmd(&cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke admin API tokens",
		Long: `Admin tokens authorise calls to the management API (Authorization: Bearer <token>).
A token is shown once, when it is created; identityd keeps only its SHA-256.`,
	})
	// withTokens runs fn with the admin tokens of the configured database. Creating and
	// revoking are audited, so the encryption keys must be at hand.
	withTokens := func(fn func(cmd *cobra.Command, args []string, s *admintokens.Service) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			o, err := openOperator(cmd, e, true)
			if err != nil {
				return err
			}
			defer o.close()
			cmd.SetContext(cliContext(cmd.Context()))
			return fn(cmd, args, admintokens.New(o.db, time.Now, o.log))
		}
	}

	var (
		ttl  time.Duration
		name string
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print it, alone on one line",
		Args:  exactArgs(0),
		RunE: withTokens(func(cmd *cobra.Command, _ []string, s *admintokens.Service) error {
			secret, tok, err := s.Create(cmd.Context(), name, ttl)
			var ve *admintokens.ValidationError
			if errors.As(err, &ve) {
				return flagProblems(ve, nil)
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, secret)
			fmt.Fprintf(e.stderr, "created admin token %s (%q), valid until %s\n", tok.ID, tok.Name, tok.ExpiresAt.Format(time.RFC3339))
			return nil
		}),
	}
	create.Flags().DurationVar(&ttl, "ttl", admintokens.DefaultTTL, "how long the token is valid (1m to 8760h)")
	create.Flags().StringVar(&name, "name", admintokens.DefaultName, "what the token is for")

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  exactArgs(0),
		RunE: withTokens(func(cmd *cobra.Command, _ []string, s *admintokens.Service) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			all, err := allPages(cmd.Context(), func(ctx context.Context, cursor string) ([]admintokens.Token, string, error) {
				page, err := s.List(ctx, admintokens.MaxPageSize, cursor)
				return page.Tokens, page.Next, err
			})
			if err != nil {
				return err
			}
			if output == "json" {
				return jsonLines(e.stdout, all, itself)
			}
			now := time.Now()
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATE\tCREATED\tEXPIRES\tLAST USED")
			for _, t := range all {
				state := "active"
				switch {
				case t.RevokedAt != nil:
					state = "revoked"
				case !t.Active(now):
					state = "expired"
				}
				used := "never"
				if t.LastUsedAt != nil {
					used = t.LastUsedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, state,
					t.CreatedAt.Format(time.RFC3339), t.ExpiresAt.Format(time.RFC3339), used)
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&output, "output", "table", "table or json (one object per line)")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: it stops working at once",
		Args:  exactArgs(1),
		RunE: withTokens(func(cmd *cobra.Command, args []string, s *admintokens.Service) error {
			tok, err := s.Revoke(cmd.Context(), args[0])
			if errors.Is(err, admintokens.ErrNotFound) {
				return fmt.Errorf("no admin token has id %q (see identityd admin token list)", args[0])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "revoked admin token %s (%q)\n", tok.ID, tok.Name)
			return nil
		}),
	}
	token.AddCommand(create, list, revoke)
	admin.AddCommand(token)
	return admin
}
