package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/server"
	"github.com/identityd/identityd/users"
)

func newUsersCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{
		Use:   "users",
		Short: "Create, list and import users",
		Long: `Work on the accounts of the configured database directly, beside a running server or
without one. Changes are audited, so the encryption keys must be at hand.`,
	})
	// withUsers runs fn with the account service of the configured database. It sends
	// no mail: links and notices are the server's business.
	withUsers := func(fn func(cmd *cobra.Command, args []string, s *users.Service) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			o, err := openOperator(cmd, e, true)
			if err != nil {
				return err
			}
			defer o.close()
			hasher, err := server.Hasher(o.cfg)
			if err != nil {
				return err
			}
			s, err := users.New(users.Deps{DB: o.db, Keyring: o.kr, Hasher: hasher, Audit: o.log}, server.UsersConfig(o.cfg))
			if err != nil {
				return err
			}
			cmd.SetContext(cliContext(cmd.Context()))
			return fn(cmd, args, s)
		}
	}
	cmd.AddCommand(newUsersCreateCmd(e, withUsers), newUsersListCmd(e, withUsers), newUsersImportCmd(e, withUsers))
	return cmd
}

type usersRunner = func(fn func(cmd *cobra.Command, args []string, s *users.Service) error) func(*cobra.Command, []string) error

func newUsersCreateCmd(e *env, withUsers usersRunner) *cobra.Command {
	var (
		n             users.NewUser
		passwordStdin bool
		metadata      string
	)
	create := &cobra.Command{
		Use:   "create --email EMAIL",
		Short: "Create a user and print their id, alone on one line",
		Example: `  identityd users create --email ada@example.com --name "Ada Lovelace" --verified
  printf '%s\n' "$PASSWORD" | identityd users create --email ada@example.com --password-stdin`,
		Args: exactArgs(0),
		RunE: withUsers(func(cmd *cobra.Command, _ []string, s *users.Service) error {
			if passwordStdin {
				pw, err := readPassword(e.stdin)
				if err != nil {
					return usageError{err}
				}
				n.Password = pw
			}
			if metadata != "" {
				n.Metadata = json.RawMessage(metadata)
			}
			n.Source = users.SourceCLI
			u, err := s.Create(cmd.Context(), n)
			var (
				ve *users.ValidationError
				ce *users.ConflictError
			)
			switch {
			case errors.As(err, &ve):
				return flagProblems(ve, map[string]string{"password": "--password-stdin"})
			case errors.As(err, &ce):
				return fmt.Errorf("another user already has this %s", ce.Field)
			case err != nil:
				return err
			}
			fmt.Fprintln(e.stdout, u.ID)
			fmt.Fprintf(e.stderr, "created user %s (%s)\n", u.ID, u.Email)
			return nil
		}),
	}
	f := create.Flags()
	f.StringVar(&n.Email, "email", "", "email address (required; unique, case-insensitively)")
	f.StringVar(&n.Name, "name", "", "display name")
	f.StringVar(&n.Username, "username", "", "username, unique: letters, digits, and . _ -")
	f.BoolVar(&n.EmailVerified, "verified", false, "mark the email address verified")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	f.StringVar(&metadata, "metadata", "", "a JSON object of the operator's own data")
	return create
}

// readPassword reads a password from the first line of r, without its line ending. A
// password is never taken as a flag, where it would show in the process list and the
// shell's history.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(r, 8<<10).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("--password-stdin: stdin holds no password")
	}
	return line, nil
}

func newUsersListCmd(e *env, withUsers usersRunner) *cobra.Command {
	var (
		f        users.Filter
		status   string
		verified string
		output   string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List users, newest first, or search them",
		Args:  exactArgs(0),
		RunE: withUsers(func(cmd *cobra.Command, _ []string, s *users.Service) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			switch verified {
			case "":
			case "true", "false":
				v := verified == "true"
				f.EmailVerified = &v
			default:
				return usageError{errors.New("--verified must be true or false")}
			}
			f.Status = users.Status(status)
			want := f.Limit
			if want < 1 || want > 100000 {
				return usageError{errors.New("--limit must be between 1 and 100000")}
			}
			var all []users.User
			for len(all) < want {
				f.Limit = min(users.MaxPageSize, want-len(all))
				page, err := s.List(cmd.Context(), f)
				var ve *users.ValidationError
				if errors.As(err, &ve) {
					return flagProblems(ve, map[string]string{"q": "--query"})
				}
				if err != nil {
					return err
				}
				all = append(all, page.Users...)
				if f.Cursor = page.Next; f.Cursor == "" {
					break
				}
			}
			if output == "json" {
				return jsonLines(e.stdout, all, itself)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEMAIL\tVERIFIED\tUSERNAME\tNAME\tSTATUS\tCREATED\tLAST LOGIN")
			for _, u := range all {
				last := "never"
				if u.LastLoginAt != nil {
					last = u.LastLoginAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.EmailVerified, u.Username,
					u.Name, u.Status, u.CreatedAt.Format(time.RFC3339), last)
			}
			return tw.Flush()
		}),
	}
	fl := list.Flags()
	fl.StringVar(&f.Query, "query", "", "search email, username and name (case-insensitive, anywhere in them)")
	fl.StringVar(&status, "status", "", "only users with this status: active, disabled or locked")
	fl.StringVar(&verified, "verified", "", "only users whose address is (true) or is not (false) verified")
	fl.IntVar(&f.Limit, "limit", 100, "most users to list")
	fl.StringVar(&output, "output", "table", "table or json (one object per line)")
	return list
}

func newUsersImportCmd(e *env, withUsers usersRunner) *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Create users from a JSON Lines file (- reads stdin)",
		Long: `Each line is a JSON object: email (required), name, username, email_verified, metadata,
and password (checked against the policy) or password_hash (bcrypt, Django's formats, PHC
pbkdf2-sha256/512, scrypt, argon2i/argon2id; upgraded to argon2id at the first sign-in).
A line whose email address has a user already is skipped, so an import can be run again
to finish one that stopped. Each refused line is reported on stderr with every reason; the
command then exits 1.`,
		Example: `  identityd users import users.jsonl`,
		Args:    exactArgs(1),
		RunE: withUsers(func(cmd *cobra.Command, args []string, s *users.Service) error {
			var in io.Reader = e.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				in = f
			}
			rep, err := s.Import(cmd.Context(), in, func(x users.Rejection) {
				parts := make([]string, len(x.Errors))
				for i, fe := range x.Errors {
					parts[i] = fe.Field + ": " + fe.Reason
				}
				fmt.Fprintf(e.stderr, "line %d: %s\n", x.Line, strings.Join(parts, "; "))
			})
			fmt.Fprintf(e.stdout, "created %d, skipped %d (already present), rejected %d\n", rep.Created, rep.Skipped, rep.Rejected)
			if err != nil {
				return err
			}
			if rep.Rejected > 0 {
				return fmt.Errorf("%d line(s) were rejected; fix them and import the file again", rep.Rejected)
			}
			return nil
		}),
	}
}
