package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/server"
	"github.com/identityd/identityd/store"
)

func newMigrateCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{
		Use:   "migrate",
		Short: "Apply, revert and inspect database schema migrations",
		Long: `Apply, revert and inspect the versioned schema migrations of the configured database.

On PostgreSQL, migrations take an advisory lock, so several replicas or operators may run
them at once: one applies, the others wait and find nothing to do.`,
	})
	var to int64
	// withMigrator runs fn on the configured database; only up may create it. Commands
	// that change the schema (changes) record what they did in the audit log, so they
	// need the encryption keys, and check for them before touching anything.
	withMigrator := func(create, changes bool, fn func(ctx context.Context, cmd *cobra.Command, m *store.Migrator, log *audit.Log) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, e, false, false)
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			var kr *keyring.Keyring
			if changes {
				if kr, err = server.Keyring(cfg, false, logger); err != nil {
					return err
				}
			}
			db, err := openStore(cmd.Context(), cfg, !create)
			if err != nil {
				return err
			}
			defer db.Close()
			m, err := store.NewMigrator(db, store.WithMigrationLogger(logger))
			if err != nil {
				return err
			}
			var log *audit.Log
			if kr != nil {
				if log, err = audit.New(db, kr, time.Now); err != nil {
					return err
				}
			}
			return fn(cliContext(cmd.Context()), cmd, m, log)
		}
	}
	// report lists what ran, even when a later migration failed (err), so the operator
	// knows where the database stands; "nothing to do" only when nothing failed either.
	report := func(applied []store.Applied, verb string, err error) {
		for _, a := range applied {
			fmt.Fprintf(e.stdout, "%s %d %s (%s)\n", verb, a.Version, a.Name, a.Duration.Round(10*time.Microsecond))
		}
		if len(applied) == 0 && err == nil {
			fmt.Fprintln(e.stdout, "nothing to do")
		}
	}
	// checkTo refuses a --to below min before the database is opened, so a usage
	// mistake is not reported only after waiting for an unreachable database.
	checkTo := func(min int64) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("to") && to < min {
				return usageError{fmt.Errorf("--to must be %d or more", min)}
			}
			return nil
		}
	}

	up := &cobra.Command{
		Use:     "up",
		Short:   "Apply pending migrations (all, or up to --to N)",
		Args:    exactArgs(0),
		PreRunE: checkTo(1),
		RunE: withMigrator(true, true, func(ctx context.Context, cmd *cobra.Command, m *store.Migrator, log *audit.Log) error {
			var (
				applied []store.Applied
				err     error
			)
			if cmd.Flags().Changed("to") {
				if _, latest, verr := m.Version(ctx); verr == nil && to > latest {
					return usageError{fmt.Errorf("--to %d: there is no such migration; the latest is %d", to, latest)}
				}
				applied, err = m.UpTo(ctx, to)
			} else {
				applied, err = m.Up(ctx)
			}
			report(applied, "applied", err)
			return errors.Join(err, server.RecordMigrations(ctx, log, applied, true))
		}),
	}
	up.Flags().Int64Var(&to, "to", 0, "apply up to and including this version")

	down := &cobra.Command{
		Use:     "down",
		Short:   "Revert the latest migration (or every migration above --to N)",
		Args:    exactArgs(0),
		PreRunE: checkTo(0),
		RunE: withMigrator(false, true, func(ctx context.Context, cmd *cobra.Command, m *store.Migrator, log *audit.Log) error {
			var (
				reverted []store.Applied
				err      error
			)
			if cmd.Flags().Changed("to") {
				reverted, err = m.DownTo(ctx, to)
			} else {
				// With nothing applied there is nothing to revert, as there is nothing
				// to apply when up finds no pending migration; the migrator would
				// call it an error ("no next version found").
				var cur int64
				if cur, _, err = m.Version(ctx); err == nil && cur > 0 {
					reverted, err = m.Down(ctx)
				}
			}
			report(reverted, "reverted", err)
			return errors.Join(err, server.RecordMigrations(ctx, log, reverted, false))
		}),
	}
	down.Flags().Int64Var(&to, "to", 0, "revert every migration above this version (0 reverts all)")

	status := &cobra.Command{
		Use:   "status",
		Short: "List every migration and whether it is applied",
		Args:  exactArgs(0),
		RunE: withMigrator(false, false, func(ctx context.Context, _ *cobra.Command, m *store.Migrator, _ *audit.Log) error {
			list, err := m.Status(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tMIGRATION")
			for _, s := range list {
				state, at := "pending", "-"
				if s.Applied {
					state, at = "applied", s.AppliedAt.Format("2006-01-02 15:04:05Z07:00")
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", s.Version, state, at, s.Name)
			}
			return tw.Flush()
		}),
	}

	ver := &cobra.Command{
		Use:   "version",
		Short: "Print the database's schema version",
		Args:  exactArgs(0),
		RunE: withMigrator(false, false, func(ctx context.Context, _ *cobra.Command, m *store.Migrator, _ *audit.Log) error {
			cur, latest, err := m.Version(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, strconv.FormatInt(cur, 10))
			if cur < latest {
				fmt.Fprintf(e.stderr, "%d migration(s) pending: run identityd migrate up\n", latest-cur)
			}
			return nil
		}),
	}
	cmd.AddCommand(up, down, status, ver)
	return cmd
}
