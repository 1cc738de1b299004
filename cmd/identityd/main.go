// Command identityd is the identity server and its operator tools: serve, migrate,
// config validate, admin tokens, jobs, audit, users, OAuth clients, signing keys,
// passwords and version. It is thin: it parses flags, loads the configuration and calls
// the packages that do the work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // the command could not do its work
	exitUsage   = 2 // bad flags, arguments or configuration
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal starts a graceful shutdown, a second one kills at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command runs with; tests pass their own.
type env struct {
	vars   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// usageError marks errors that exit 2: a mistake in how identityd was called or set up.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, vars []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{vars: vars, stdin: stdin, stdout: stdout, stderr: stderr}
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var problems config.Problems
	var usage usageError
	switch {
	case errors.As(err, &problems):
		fmt.Fprintf(stderr, "identityd: the configuration has %d problem(s):\n%s\n", len(problems), problems.Error())
		return exitUsage
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "identityd: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "identityd: %v\n", err)
		return exitFailure
	}
}

func newRootCmd(e *env) *cobra.Command {
	root := groupCmd(&cobra.Command{
		Use:           "identityd",
		Short:         "identityd: sign-in, OAuth 2 and OpenID Connect tokens, and authorization for your apps",
		SilenceErrors: true,
		SilenceUsage:  true,
	})
	root.PersistentFlags().String("config", "", "YAML configuration file (settings in the environment override it)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newServeCmd(e),
		newMigrateCmd(e),
		newConfigCmd(e),
		newAdminCmd(e),
		newJobsCmd(e),
		newAuditCmd(e),
		newUsersCmd(e),
		newClientsCmd(e),
		newKeysCmd(e),
		newPasswordsCmd(e),
		newVersionCmd(e),
	)
	return root
}

// loadConfig reads the configuration for a command. Commands other than serve do not
// need the settings only a server needs (issuer, encryption keys), so they load it as a
// tool.
func loadConfig(cmd *cobra.Command, e *env, dev, serving bool) (*config.Config, error) {
	file, _ := cmd.Flags().GetString("config")
	return config.Load(config.Sources{File: file, Env: e.vars, Dev: dev, Serving: serving})
}

// groupCmd makes cmd, which only groups subcommands, print its help when called alone
// and refuse an unknown subcommand with the usage exit code. Left to itself, cobra prints
// the help and exits 0 for "identityd migrate upp", so a typo in a deploy script would
// pass for success; and it exits 1 for an unknown top-level command.
func groupCmd(cmd *cobra.Command) *cobra.Command {
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{errors.New(msg)}
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
