package passwords_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/identityd/identityd/passwords"
)

func TestPolicyCheck(t *testing.T) {
	p := passwords.DefaultPolicy()
	personal := []string{"Jane.Doe@example.com", "jdoe42", "Jane Doe", "al"}
	// A sentence of 133 characters: long enough that only its first 100 are scored.
	const passphrase = "the quick brown fox jumps over the lazy dog while seven wizards quietly hex the jovial zebra and its vexing friends in a foggy valley"
	for _, tc := range []struct {
		name, password, code string
	}{
		{"strong random", "kx8#Lm2@vQ", ""},
		{"passphrase", staple, ""},
		{"long passphrase", passphrase, ""},
		{"exactly 8 characters", "Sk8erboi", ""},
		{"a ligature that normalises to 8 characters", "ﬁx8#Lm2", ""},
		{"a domain word of the email is allowed", "example-Kx8#Lm2@vQ", ""},
		{"personal parts under 3 runes are ignored", "Kx8#alLm2@vQ", ""},

		{"invalid UTF-8", "kx8#Lm2@vQ\xff", passwords.CodeInvalidUTF8},
		{"7 characters", "kx8#Lm2", passwords.CodeTooShort},
		{"8 runes that normalise to 7", "kx8#e\u0301Lm", passwords.CodeTooShort},
		{"empty", "", passwords.CodeTooShort},
		{"1025 bytes", strings.Repeat("k", 1025), passwords.CodeTooLong},
		{"under 1024 bytes that normalise to more", strings.Repeat("\ufdfa", 40), passwords.CodeTooLong},
		{"line break", "kx8#Lm2@vQ\n", passwords.CodeControlCharacters},
		{"tab", "kx8#\tLm2@vQ", passwords.CodeControlCharacters},
		{"NUL", "kx8#\x00Lm2@vQ", passwords.CodeControlCharacters},
		{"common", "password123", passwords.CodeCommon},
		{"common in other case", "QazWsxEdc123", passwords.CodeCommon},
		{"common in full-width letters", "ｍｏｎｋｅｙ１２３", passwords.CodeCommon},
		{"email", "xJane.Doe@example.com!", passwords.CodeContainsPersonal},
		{"email local part", "Zq!jane.doe#Lm", passwords.CodeContainsPersonal},
		{"a word of the display name", "Kx8#DOE!Lm2", passwords.CodeContainsPersonal},
		{"username", "Zq!jdoe42#Lm", passwords.CodeContainsPersonal},
		{"keyboard walk", "qwertyuiop[]", passwords.CodeGuessable},
		{"word and year", "summer2024", passwords.CodeGuessable},
		{"repeated character", "aaaaaaaaaaaa", passwords.CodeGuessable},
		{"weak first 100 characters of a long password", strings.Repeat("a", 100) + "kx8#Lm2@vQ-zebra-kettle", passwords.CodeGuessable},
	} {
		err := p.Check(tc.password, personal...)
		if tc.code == "" {
			if err != nil {
				t.Errorf("%s: Check = %v, want nil", tc.name, err)
			}
			continue
		}
		var pe *passwords.PolicyError
		if !errors.As(err, &pe) || pe.Code != tc.code {
			t.Errorf("%s: Check = %v, want code %q", tc.name, err, tc.code)
			continue
		}
		if pe.Message == "" || (len(tc.password) >= 3 && strings.Contains(pe.Message, tc.password)) {
			t.Errorf("%s: message %q is empty or echoes the password", tc.name, pe.Message)
		}
	}
}

func TestPolicyMessagesAreForPeople(t *testing.T) {
	p := passwords.DefaultPolicy()
	for password, want := range map[string]string{
		"short":        "Use at least 8 characters.",
		"password123":  "This password is one of the most commonly used passwords; choose another.",
		"summer2024":   "This password would be easy to guess. Add a few more words or characters, and avoid common words, names, dates and keyboard patterns.",
		"xjdoe42xxxxx": "Don't use your name, username or email address in your password.",
	} {
		var pe *passwords.PolicyError
		if err := p.Check(password, "jdoe42"); !errors.As(err, &pe) || pe.Message != want {
			t.Errorf("Check(%q) = %v, want the message %q", password, err, want)
		}
	}
}

func TestPolicyMinScoreZeroSkipsZxcvbn(t *testing.T) {
	p := passwords.DefaultPolicy()
	p.MinScore = 0
	if err := p.Check("summer2024"); err != nil {
		t.Fatalf("MinScore 0: Check = %v", err)
	}
	// The other checks still apply.
	if err := p.Check("password123"); err == nil {
		t.Fatal("MinScore 0 let a common password through")
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := passwords.DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
	err := passwords.Policy{MinLength: 0, MaxBytes: 32, MinScore: 5}.Validate()
	for _, want := range []string{"MinLength 0 is below 1", "MaxBytes 32 is below 64", "MinScore 5 is outside"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %q", err, want)
		}
	}
	if err := (passwords.Policy{MinLength: 100, MaxBytes: 64, MinScore: 2}).Validate(); err == nil || !strings.Contains(err.Error(), "so no password could pass") {
		t.Errorf("Validate(MinLength > MaxBytes) = %v", err)
	}
}
