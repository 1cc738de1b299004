package users

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/identityd/identityd/validation"
)

// Limits on what an account may hold.
const (
	// MaxEmailBytes is RFC 5321's limit on a forward path, less its angle brackets.
	MaxEmailBytes = 254
	// maxLocalPartBytes is RFC 5321's limit on the part before the @.
	maxLocalPartBytes = 64
	MinUsernameRunes  = 2
	MaxUsernameRunes  = 64
	MaxNameRunes      = 200
	// MaxMetadataBytes bounds the JSON object an account carries for the operator.
	MaxMetadataBytes = 16 << 10
	// maxMetadataDepth bounds nesting, so a small document cannot be a deep one.
	maxMetadataDepth = 16
)

// FieldError is one reason one field was refused, in words for the caller.
type FieldError = validation.FieldError

// ValidationError lists every field that was refused, so a caller can fix them all at
// once.
type ValidationError = validation.Error

// fieldErrors collects refusals while a request is checked.
type fieldErrors = validation.Fields

// scope begins the messages of this package's validation errors.
const scope = "users"

// emailKey is the form of an address that uniqueness and sign-in compare: normalised
// and lower-cased, so that Alice@Example.com and alice@example.com are one account.
func emailKey(email string) string { return strings.ToLower(norm.NFC.String(email)) }

// usernameKey is the form of a username that uniqueness and sign-in compare.
func usernameKey(username string) string { return strings.ToLower(norm.NFKC.String(username)) }

// checkEmail returns the address as it will be stored, or why it is refused. Only a
// bare address is an email here: "Alice <a@example.com>" is a display name and an
// address, and comments, quoted local parts and address literals are refused, because
// mail systems disagree on them and they make look-alike accounts.
func checkEmail(email string) (string, string) {
	switch {
	case email == "":
		return "", "is required"
	case !utf8.ValidString(email):
		return "", "must be valid UTF-8"
	case len(email) > MaxEmailBytes:
		return "", fmt.Sprintf("must be at most %d bytes", MaxEmailBytes)
	case strings.TrimSpace(email) != email:
		return "", "must not start or end with spaces"
	}
	for _, r := range email {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '(' || r == ')' || r == '[' || r == ']' ||
			r == '<' || r == '>' || r == ',' || r == ';' || r == '\\' {
			return "", "must be a plain address such as name@example.com"
		}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", "must be a plain address such as name@example.com"
	}
	local, domain, _ := strings.Cut(email, "@")
	if len(local) > maxLocalPartBytes {
		return "", fmt.Sprintf("the part before @ must be at most %d bytes", maxLocalPartBytes)
	}
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") ||
		strings.Contains(domain, "..") {
		return "", "must have a domain such as example.com after the @"
	}
	return norm.NFC.String(email), ""
}

// checkUsername returns the username as it will be stored, or why it is refused. It
// admits letters and digits of any script and . _ -, which keeps usernames free of
// look-alike punctuation and of @, so a sign-in identifier is unambiguous.
func checkUsername(username string) (string, string) {
	if !utf8.ValidString(username) {
		return "", "must be valid UTF-8"
	}
	u := norm.NFKC.String(username)
	n := utf8.RuneCountInString(u)
	if n < MinUsernameRunes || n > MaxUsernameRunes {
		return "", fmt.Sprintf("must be %d to %d characters", MinUsernameRunes, MaxUsernameRunes)
	}
	for i, r := range u {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		case (r == '.' || r == '_' || r == '-') && i > 0:
		default:
			return "", "may hold only letters, digits, and . _ - (not first)"
		}
	}
	return u, ""
}

// checkName returns the display name as it will be stored, or why it is refused.
func checkName(name string) (string, string) {
	if !utf8.ValidString(name) {
		return "", "must be valid UTF-8"
	}
	name = norm.NFC.String(name)
	if utf8.RuneCountInString(name) > MaxNameRunes {
		return "", fmt.Sprintf("must be at most %d characters", MaxNameRunes)
	}
	if strings.TrimSpace(name) != name {
		return "", "must not start or end with spaces"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) && r != ' ' {
			return "", "must contain only printable characters"
		}
	}
	return name, ""
}

// emptyObject is the metadata of a user who has none.
var emptyObject = json.RawMessage("{}")

// checkMetadata returns the metadata compacted as it will be stored ({} when absent),
// or why it is refused.
func checkMetadata(raw json.RawMessage) (json.RawMessage, string) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return emptyObject, ""
	}
	if len(raw) > MaxMetadataBytes*2 {
		return nil, fmt.Sprintf("must be at most %d bytes", MaxMetadataBytes)
	}
	if !utf8.Valid(raw) {
		return nil, "must be valid UTF-8"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, "must be a JSON object"
	}
	if b.Len() == 0 || b.Bytes()[0] != '{' {
		return nil, "must be a JSON object"
	}
	if b.Len() > MaxMetadataBytes {
		return nil, fmt.Sprintf("must be at most %d bytes", MaxMetadataBytes)
	}
	if depth(b.Bytes()) > maxMetadataDepth {
		return nil, fmt.Sprintf("must nest at most %d levels deep", maxMetadataDepth)
	}
	return json.RawMessage(b.Bytes()), ""
}

// depth is the deepest nesting of objects and arrays in compact, valid JSON.
func depth(doc []byte) int {
	deepest, d, inString, escaped := 0, 0, false, false
	for _, c := range doc {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// searchText is what admin search matches a user on: email, username and name, lower
// case, separated by newlines, which no query can contain.
func searchText(email, username, name string) string {
	return strings.ToLower(email + "\n" + username + "\n" + name)
}
