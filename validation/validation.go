// Package validation is how a package says which fields of a request it refused and
// why — every field at once, so that a caller can fix them all — in one shape that the
// API, the command line and the pages each turn into their own answer.
package validation

import "strings"

// FieldError is one reason one field was refused, in words for the caller. Field is the
// request's name for it, with an index for one item of a list (redirect_uris[2]).
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error lists every field that was refused.
type Error struct {
	// Scope names the package that refused them ("clients"), which begins the message.
	Scope  string
	Errors []FieldError
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Errors))
	for i, f := range e.Errors {
		parts[i] = f.Field + ": " + f.Reason
	}
	return e.Scope + ": " + strings.Join(parts, "; ")
}

// Fields collects refusals while a request is checked.
type Fields []FieldError

// Add records that field was refused for reason.
func (f *Fields) Add(field, reason string) { *f = append(*f, FieldError{field, reason}) }

// Err is nil when nothing was refused, and otherwise an *Error of scope listing it all.
func (f Fields) Err(scope string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Scope: scope, Errors: f}
}

// One is an *Error of scope refusing field alone, for checks that stop at the first
// fault.
func One(scope, field, reason string) error {
	return &Error{Scope: scope, Errors: []FieldError{{Field: field, Reason: reason}}}
}
