package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/jobs"
)

func newJobsCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{Use: "jobs", Short: "Inspect background jobs"})
	var (
		p      jobs.ListParams
		output string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first (--state discarded shows jobs that used up their attempts)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, "table", "json"); err != nil {
				return err
			}
			if p.State != "" && !slices.Contains(jobs.States, p.State) {
				return usageError{fmt.Errorf("--state must be one of %s", strings.Join(jobs.States, ", "))}
			}
			if p.Limit < 1 || p.Limit > 1000 {
				return usageError{fmt.Errorf("--limit must be between 1 and 1000")}
			}
			o, err := openOperator(cmd, e, false)
			if err != nil {
				return err
			}
			defer o.close()
			q, err := jobs.New(o.db, jobs.Config{})
			if err != nil {
				return err
			}
			list, err := q.List(cmd.Context(), p)
			if err != nil {
				return err
			}
			if output == "json" {
				return jsonLines(e.stdout, list, itself)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tSTATE\tATTEMPT\tCREATED\tLAST ERROR")
			for _, j := range list {
				last := ""
				if n := len(j.Errors); n > 0 {
					last = oneLine(j.Errors[n-1], 80)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, j.Kind, j.State, j.Attempt, j.MaxAttempts,
					j.CreatedAt.Format(time.RFC3339), last)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&p.State, "state", "", "only jobs in this state: "+strings.Join(jobs.States, ", "))
	list.Flags().StringVar(&p.Kind, "kind", "", "only jobs of this kind")
	list.Flags().IntVar(&p.Limit, "limit", 100, "most jobs to list (1 to 1000)")
	list.Flags().StringVar(&output, "output", "table", "table or json (one object per line)")
	cmd.AddCommand(list)
	return cmd
}

// oneLine fits s into one table cell of at most max characters. Runs of white space
// become one space, and other characters a terminal would act on become U+FFFD: job
// errors can quote what a remote server said, and must not move the cursor or recolour
// the operator's terminal. It cuts at a character boundary, never inside one.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return utf8.RuneError
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
