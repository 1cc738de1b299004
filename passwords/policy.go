package passwords

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"
)

// Policy decides which new passwords are acceptable, after NIST SP 800-63B (section
// 5.1.1.2): a minimum length, a generous maximum, no composition rules, and refusal of
// passwords that are common, contain the user's own details, or are easy to guess.
// The zero Policy refuses every password; start from DefaultPolicy.
type Policy struct {
	// MinLength is the fewest characters (Unicode code points, after normalisation)
	// a password may have. Default 8, NIST's minimum for a password chosen by its
	// user; the zxcvbn check below refuses the weak ones among the short.
	MinLength int
	// MaxBytes bounds a password's UTF-8 length. Default 1024: NIST asks that at
	// least 64 characters be allowed, long passphrases are welcome, and the bound
	// keeps one request from feeding megabytes into normalisation and hashing.
	MaxBytes int
	// MinScore is the zxcvbn score, 0 to 4, below which a password is refused; 0
	// turns the check off. Default 2: zxcvbn-go scores 0 and 1 the passwords it
	// expects to fall within 10^8 guesses — under three hours at the 10^4 guesses a
	// second it assumes against a slow hash — and 2 those within 10^10. Requiring 3
	// refuses many reasonable passwords of 8 to 10 characters, which pushes people to
	// reuse or write down passwords, the failure NIST warns composition rules cause.
	MinScore int
}

// DefaultPolicy returns the policy described on each field of Policy.
func DefaultPolicy() Policy {
	return Policy{MinLength: 8, MaxBytes: 1024, MinScore: 2}
}

// Validate reports settings that cannot work or that fall short of NIST SP 800-63B.
func (p Policy) Validate() error {
	var errs []error
	if p.MinLength < 1 {
		errs = append(errs, fmt.Errorf("MinLength %d is below 1", p.MinLength))
	}
	if p.MaxBytes < 64 {
		errs = append(errs, fmt.Errorf("MaxBytes %d is below 64; NIST SP 800-63B asks that passwords of 64 characters be allowed", p.MaxBytes))
	}
	if p.MaxBytes < p.MinLength {
		errs = append(errs, fmt.Errorf("MaxBytes %d is below MinLength %d, so no password could pass", p.MaxBytes, p.MinLength))
	}
	if p.MinScore < 0 || p.MinScore > 4 {
		errs = append(errs, fmt.Errorf("MinScore %d is outside zxcvbn's scores 0 to 4", p.MinScore))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("passwords: policy: %w", err)
	}
	return nil
}

// The codes of a PolicyError, for callers that choose a message or a form field by
// them.
const (
	CodeInvalidUTF8       = "invalid_utf8"
	CodeTooLong           = "too_long"
	CodeControlCharacters = "control_characters"
	CodeTooShort          = "too_short"
	CodeCommon            = "common"
	CodeContainsPersonal  = "contains_personal"
	CodeGuessable         = "guessable"
)

// PolicyError says why Check refused a password.
type PolicyError struct {
	// Code is one of the Code constants.
	Code string
	// Message explains the refusal to the person choosing the password, in plain
	// words. It never contains the password.
	Message string
}

// Error returns the code and message.
func (e *PolicyError) Error() string {
	return "passwords: password refused (" + e.Code + "): " + e.Message
}

// zxcvbnMaxRunes is how much of a password zxcvbn sees. Its matching is quadratic in
// the length (every substring against every dictionary), and zxcvbn's authors advise
// passing only the first 100 or so characters; a passphrase longer than that is not
// weak for lack of length.
const zxcvbnMaxRunes = 100

// Check returns nil when password is acceptable, or a *PolicyError saying why not.
// personal are the user's email address, username and display name: a password that
// contains any of them, case-insensitively, is refused — for an email address also its
// local part, and for every value each word of three or more letters or digits (for an
// email, of its local part only, so that "com" is not a forbidden word). Cheap checks
// run first: valid UTF-8, length, control characters, the list of common passwords,
// personal details, and last zxcvbn, which also gets personal as user inputs.
func (p Policy) Check(password string, personal ...string) error {
	if !utf8.ValidString(password) {
		return &PolicyError{CodeInvalidUTF8, "The password is not valid text (UTF-8); type it again."}
	}
	if len(password) > p.MaxBytes {
		return p.tooLong()
	}
	if strings.IndexFunc(password, unicode.IsControl) >= 0 {
		return &PolicyError{CodeControlCharacters, "Don't use control characters such as tabs or line breaks in a password."}
	}
	normalized := Normalize(password)
	if len(normalized) > p.MaxBytes {
		return p.tooLong()
	}
	if utf8.RuneCountInString(normalized) < p.MinLength {
		return &PolicyError{CodeTooShort, fmt.Sprintf("Use at least %d characters.", p.MinLength)}
	}
	lowered := strings.ToLower(normalized)
	if isCommon(lowered) {
		return &PolicyError{CodeCommon, "This password is one of the most commonly used passwords; choose another."}
	}
	parts := personalParts(personal)
	for _, part := range parts {
		if strings.Contains(lowered, part) {
			return &PolicyError{CodeContainsPersonal, "Don't use your name, username or email address in your password."}
		}
	}
	if p.MinScore > 0 && zxcvbnScore(normalized, parts) < p.MinScore {
		return &PolicyError{CodeGuessable, "This password would be easy to guess. Add a few more words or characters, and avoid common words, names, dates and keyboard patterns."}
	}
	return nil
}

func (p Policy) tooLong() *PolicyError {
	return &PolicyError{CodeTooLong, fmt.Sprintf("Use a shorter password: at most %d bytes. Most characters take one byte; accented letters, other scripts and emoji take two to four.", p.MaxBytes)}
}

// personalParts returns the lowercased, normalised pieces of personal a password may
// not contain: each value, an email's local part, and the words of either, keeping
// only pieces of three runes or more — shorter ones occur in too many good passwords.
func personalParts(personal []string) []string {
	var parts []string
	add := func(s string) {
		if utf8.RuneCountInString(s) >= 3 && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	for _, v := range personal {
		v = strings.ToLower(Normalize(strings.TrimSpace(v)))
		add(v)
		if at := strings.LastIndexByte(v, '@'); at >= 0 {
			v = v[:at]
			add(v)
		}
		for _, word := range strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
			add(word)
		}
	}
	return parts
}

// zxcvbnScore rates the first zxcvbnMaxRunes runes of password.
func zxcvbnScore(password string, userInputs []string) int {
	if utf8.RuneCountInString(password) > zxcvbnMaxRunes {
		password = string([]rune(password)[:zxcvbnMaxRunes])
	}
	return zxcvbn.PasswordStrength(password, userInputs).Score
}
