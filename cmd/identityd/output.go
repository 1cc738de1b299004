package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/identityd/identityd/validation"
)

// checkOutput refuses an --output the command does not offer, as a usage error.
func checkOutput(output string, allowed ...string) error {
	for _, a := range allowed {
		if output == a {
			return nil
		}
	}
	return usageError{fmt.Errorf("--output must be %s", strings.Join(allowed, " or "))}
}

// jsonLines writes items as JSON Lines (--output json): one object per line, each as
// view shows it, so that tools read the API's shape.
func jsonLines[T any](w io.Writer, items []T, view func(T) any) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(view(it)); err != nil {
			return err
		}
	}
	return nil
}

// itself is the view of an item that is shown as it is.
func itself[T any](v T) any { return v }

// allPages reads a keyset-paged listing to its end: list answers one page from cursor
// ("" for the first) and the cursor of the next ("" after the last).
func allPages[T any](ctx context.Context, list func(ctx context.Context, cursor string) ([]T, string, error)) ([]T, error) {
	var all []T
	cursor := ""
	for {
		page, next, err := list(ctx, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if cursor = next; cursor == "" {
			return all, nil
		}
	}
}

// flagProblems is a refusal of fields worded in terms of the command's flags, one line
// each (--email: must be an address). A field's flag is its name with dashes for
// underscores unless flags says otherwise (password: --password-stdin).
func flagProblems(ve *validation.Error, flags map[string]string) error {
	lines := make([]string, len(ve.Errors))
	for i, f := range ve.Errors {
		flag, ok := flags[f.Field]
		if !ok {
			flag = "--" + strings.ReplaceAll(f.Field, "_", "-")
		}
		lines[i] = flag + ": " + f.Reason
	}
	return usageError{errors.New(strings.Join(lines, "\n"))}
}
