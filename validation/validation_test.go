package validation_test

import (
	"errors"
	"testing"

	"github.com/identityd/identityd/validation"
)

func TestFieldsReportEveryRefusalAtOnceOrNothing(t *testing.T) {
	var none validation.Fields
	if err := none.Err("clients"); err != nil {
		t.Fatalf("no refusal gave %v", err)
	}
	var f validation.Fields
	f.Add("name", "is required")
	f.Add("redirect_uris[1]", "must use https")
	var ve *validation.Error
	err := f.Err("clients")
	if !errors.As(err, &ve) || len(ve.Errors) != 2 || ve.Errors[1].Field != "redirect_uris[1]" {
		t.Fatalf("got %#v", err)
	}
	if want := "clients: name: is required; redirect_uris[1]: must use https"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}

func TestOneRefusesOneField(t *testing.T) {
	var ve *validation.Error
	err := validation.One("audit", "limit", "must be between 1 and 1000")
	if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0] != (validation.FieldError{Field: "limit", Reason: "must be between 1 and 1000"}) {
		t.Fatalf("got %#v", err)
	}
	if want := "audit: limit: must be between 1 and 1000"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}
