package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/server"
	"github.com/identityd/identityd/signingkeys"
)

func newKeysCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{
		Use:   "keys",
		Short: "List and rotate the keys that sign tokens",
		Long: `Work on the token signing keys of the configured database, beside a running server or
without one. For each algorithm one key is current (it signs); a next key is published
ahead of signing, so that relying parties know it before they meet a token signed with
it; a retired key signs no more and stays published until every token it signed has
expired. Rotations are audited, and keys are stored encrypted, so rotating needs the
encryption keys at hand; listing does not. A running server sees a change at once on PostgreSQL, and within a second on
the embedded database.`,
	})
	// withKeys runs fn with the signing keys of the configured database, kept for the
	// algorithms the configuration names.
	withKeys := func(fn func(cmd *cobra.Command, args []string, s *signingkeys.Service, algs []signingkeys.Alg) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			o, err := openOperator(cmd, e, true)
			if err != nil {
				return err
			}
			defer o.close()
			cfg := server.SigningKeysConfig(o.cfg)
			s, err := signingkeys.New(o.db, o.kr, o.log, time.Now, cfg)
			if err != nil {
				return err
			}
			cmd.SetContext(cliContext(cmd.Context()))
			return fn(cmd, args, s, cfg.Algs)
		}
	}

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys and their states (never private material)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			// Public keys only: the encryption keys need not be at hand.
			o, err := openOperator(cmd, e, false)
			if err != nil {
				return err
			}
			defer o.close()
			keys, err := signingkeys.List(cliContext(cmd.Context()), o.db, time.Now(), server.SigningKeysConfig(o.cfg))
			if err != nil {
				return err
			}
			if output == "json" {
				return jsonLines(e.stdout, keys, func(k signingkeys.Key) any { return api.FromSigningKey(k) })
			}
			at := func(t *time.Time) string {
				if t == nil {
					return "-"
				}
				return t.Format(time.RFC3339)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSIGNS FROM\tRETIRED\tUNPUBLISHED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Alg, k.State, k.CreatedAt.Format(time.RFC3339),
					k.ActivatesAt.Format(time.RFC3339), at(k.RetiredAt), at(k.UnpublishAt))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&output, "output", "table", "table or json (one object per line)")

	var (
		alg string
		now bool
	)
	rotate := &cobra.Command{
		Use:   "rotate [--alg ES256|RS256] [--now]",
		Short: "Make new signing keys: published now, signing after signing_key_publish_lead",
		Long: `Make a new signing key for each algorithm the configuration keeps keys for (ES256 and
RS256 by default), or for --alg alone, and print one line for each. The new key is
published at once and starts signing after signing_key_publish_lead, when the current key
retires: nothing already issued stops verifying. While a next key is pending for an
algorithm no other is made; the command says so and exits 1.

--now is for a key that is or may be compromised: the new key signs at once and every
other key of the algorithm is deleted, so tokens they signed stop verifying, and relying
parties must refetch the JWKS to know the new key.`,
		Example: `  identityd keys rotate
  identityd keys rotate --alg ES256 --now`,
		Args: exactArgs(0),
		RunE: withKeys(func(cmd *cobra.Command, _ []string, s *signingkeys.Service, algs []signingkeys.Alg) error {
			if alg != "" {
				a := signingkeys.Alg(strings.ToUpper(alg))
				if a != signingkeys.ES256 && a != signingkeys.RS256 {
					return usageError{fmt.Errorf("--alg must be ES256 or RS256, not %q", alg)}
				}
				algs = []signingkeys.Alg{a}
			}
			pending := 0
			for _, a := range algs {
				k, err := s.Rotate(cmd.Context(), a, now)
				switch {
				case errors.Is(err, signingkeys.ErrNextKeyPending):
					pending++
					fmt.Fprintf(e.stderr, "identityd: %s: the next key %s is pending already and signs from %s; it is the rotation (--now replaces the keys at once)\n",
						a, k.ID, k.ActivatesAt.Format(time.RFC3339))
					continue
				case errors.Is(err, signingkeys.ErrUnsupportedAlg):
					return usageError{fmt.Errorf("--alg %s: this configuration keeps no %s keys (RS256, and oauth_access_token_alg)", a, a)}
				case err != nil && k.ID != "":
					// Stored; only reading the keys back failed. A server reloads them by itself.
					fmt.Fprintf(e.stderr, "identityd: %s: %v\n", a, err)
				case err != nil:
					return err
				}
				if k.State == signingkeys.StateCurrent {
					fmt.Fprintf(e.stdout, "%s: new key %s signs from now\n", a, k.ID)
				} else {
					fmt.Fprintf(e.stdout, "%s: new key %s is published and signs from %s\n", a, k.ID, k.ActivatesAt.Format(time.RFC3339))
				}
			}
			if pending > 0 {
				return fmt.Errorf("%d algorithm(s) had a rotation pending already; no key was made for them", pending)
			}
			return nil
		}),
	}
	rotate.Flags().StringVar(&alg, "alg", "", "rotate only this algorithm's key: ES256 or RS256 (default: every algorithm kept)")
	rotate.Flags().BoolVar(&now, "now", false, "sign with the new key at once and delete the others: tokens they signed stop verifying")

	cmd.AddCommand(list, rotate)
	return cmd
}
