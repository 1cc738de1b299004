package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/audit"
)

// errLogBroken makes audit verify exit non-zero after it has printed what broke.
var errLogBroken = errors.New("the audit log does not verify")

func newAuditCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{Use: "audit", Short: "Verify and export the tamper-evident audit log"})

	var output string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Walk the audit chain and name the first broken link; exit 1 if there is one",
		Long: `Walk the whole audit log: every sealed event against its MAC and its link in the chain,
every signed checkpoint, the head and pruning marks, and the events still waiting to be sealed.
The first broken link is named — a modified, deleted, reordered or inserted event, a forged
checkpoint or mark — and the command exits 1. It needs the encryption keys the log was sealed
under.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			o, err := openOperator(cmd, e, true)
			if err != nil {
				return err
			}
			defer o.close()
			rep, err := o.log.Verify(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				if err := json.NewEncoder(e.stdout).Encode(rep); err != nil {
					return err
				}
			} else {
				printReport(e, rep)
			}
			if !rep.OK {
				return errLogBroken
			}
			return nil
		},
	}
	verify.Flags().StringVar(&output, "output", "text", "text or json")

	var since, until string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write audit events as JSON lines, oldest first (--since/--until bound them)",
		Long: `Write every audit event recorded in [--since, --until) to standard output, one JSON object
per line, oldest first. It reads a bounded batch at a time, so its memory stays constant however
large the log. Times are RFC 3339 (2026-01-02T15:04:05Z) or dates (2026-01-02).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseWhen("since", since)
			if err != nil {
				return err
			}
			to, err := parseWhen("until", until)
			if err != nil {
				return err
			}
			if !from.IsZero() && !to.IsZero() && !from.Before(to) {
				return usageError{fmt.Errorf("--until must be after --since")}
			}
			// Reading needs no keys: export works wherever the database can be read.
			o, err := openOperator(cmd, e, false)
			if err != nil {
				return err
			}
			defer o.close()
			out := bufio.NewWriter(e.stdout)
			enc := json.NewEncoder(out)
			if err := o.log.Export(cmd.Context(), from, to, func(ev audit.Event) error { return enc.Encode(ev) }); err != nil {
				return err
			}
			return out.Flush()
		},
	}
	export.Flags().StringVar(&since, "since", "", "only events recorded at or after this time")
	export.Flags().StringVar(&until, "until", "", "only events recorded before this time")
	cmd.AddCommand(verify, export)
	return cmd
}

func parseWhen(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--%s %q: use RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", flag, s)}
}

func printReport(e *env, rep audit.Report) {
	if rep.OK {
		fmt.Fprintf(e.stdout, "audit log verifies: events #%d to #%d (%d), %d signed checkpoints, %d pending\n",
			rep.FirstSeq, rep.LastSeq, rep.Events, rep.Checkpoints, rep.Pending)
	} else {
		p := rep.Problem
		fmt.Fprintf(e.stdout, "audit log is BROKEN (%s", p.Kind)
		if p.Seq > 0 {
			fmt.Fprintf(e.stdout, " at #%d", p.Seq)
		}
		if p.EventID != "" {
			fmt.Fprintf(e.stdout, ", event %s", p.EventID)
		}
		fmt.Fprintf(e.stdout, "): %s\n", p.Message)
	}
	if rep.Rejected > 0 {
		fmt.Fprintf(e.stdout, "warning: the sealer refused %d forged event(s); see the audit.tampering.detected events\n", rep.Rejected)
	}
}
