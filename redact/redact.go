// Package redact is identityd's one rule for keeping secrets out of logs and audit
// records. Passwords, client secrets, tokens, authorization codes, TOTP values, cookies
// and authorization headers must never be written down; everything that logs request
// data, headers, bodies or event details passes it through here first.
//
// The rule is decided by key name (IsSensitive), never by value, so it works on data
// whose values we cannot recognise: a query parameter, a header, a JSON field, a slog
// attribute. A sensitive key's value is replaced by the string Redacted whatever its
// type, so a number or a whole nested object under such a key disappears too.
//
// Deciding by name over-redacts some harmless fields — status_code, token_type,
// code_challenge — and that is accepted: a missing harmless value costs a moment of
// debugging, a logged secret costs an incident. Name log fields so they stay readable
// (the access log uses status, not status_code). What the rule cannot see is a secret
// in a value under an innocent name, or in a URL path (/reset/<token>): routes keep
// secrets in parameters, and loggers log route patterns rather than raw paths where a
// path carries one.
package redact

import (
	"unicode"
	"unicode/utf8"
)

// Redacted replaces every value under a sensitive key.
const Redacted = "[REDACTED]"

// sensitiveWords are the words that make a key sensitive wherever they appear in it.
var sensitiveWords = map[string]bool{
	"password": true, "passwords": true, "passwd": true, "pwd": true, "passphrase": true,
	"secret": true, "secrets": true,
	"token": true, "tokens": true,
	"code": true, "codes": true, "otp": true, "totp": true, "pin": true,
	"authorization": true,
	"cookie":        true, "cookies": true,
	"credential": true, "credentials": true,
	"assertion": true,
	"apikey":    true, "apikeys": true, "privatekey": true, "privatekeys": true,
}

// keyQualifiers are the words after which "key" or "keys" means key material, not an
// identifier: api_key and signing_key are secrets, key_id and kid are not.
var keyQualifiers = map[string]bool{
	"api": true, "private": true, "secret": true,
	"encryption": true, "signing": true, "master": true, "hmac": true,
}

// maxWordLen is the longest word in the tables above, in bytes; longer words cannot
// match, so IsSensitive need not keep them.
const maxWordLen = len("authorization")

// IsSensitive reports whether values under key must not be logged.
//
// The key is split into lowercase words on every character that is not a letter or a
// digit, on camelCase boundaries, and between letters and digits: clientSecret is
// client, secret; X-Api-Key is x, api, key; APIKey is api, key; password2 is password, 2.
// It is sensitive when any word is one of password, passwords, passwd, pwd, passphrase,
// secret, secrets, token, tokens, code, codes, otp, totp, pin, authorization, cookie,
// cookies, credential, credentials, assertion, apikey(s) or privatekey(s); or when
// "key" or "keys" follows api, private, secret, encryption, signing, master or hmac.
func IsSensitive(key string) bool {
	var (
		word    [maxWordLen]byte
		n       int  // bytes in word
		tooLong bool // the current word outgrew word and cannot match
		// qualified: the previous word turns "key" into key material.
		qualified bool
		prev      = classSeparator
	)
	// end finishes the current word and reports whether it makes the key sensitive.
	end := func() bool {
		if n == 0 && !tooLong {
			return false
		}
		w := word[:n]
		if tooLong {
			w = nil
		}
		sensitive := sensitiveWords[string(w)] || (qualified && (string(w) == "key" || string(w) == "keys"))
		qualified = keyQualifiers[string(w)]
		n, tooLong = 0, false
		return sensitive
	}
	for i := 0; i < len(key); {
		r, size := utf8.DecodeRuneInString(key[i:])
		i += size
		c := classOf(r)
		if c == classSeparator {
			if end() {
				return true
			}
			prev = c
			continue
		}
		if startsWord(prev, c, key[i:]) && end() {
			return true
		}
		lower := unicode.ToLower(r)
		if size := utf8.RuneLen(lower); !tooLong && size > 0 && n+size <= len(word) {
			n += utf8.EncodeRune(word[n:], lower)
		} else {
			tooLong = true
		}
		prev = c
	}
	return end()
}

// class sorts characters for word splitting.
type class int

const (
	classSeparator class = iota
	classLower           // lowercase letters, and letters without case
	classUpper
	classDigit
)

func classOf(r rune) class {
	switch {
	case unicode.IsUpper(r):
		return classUpper
	case unicode.IsLetter(r):
		return classLower
	case unicode.IsDigit(r):
		return classDigit
	default:
		return classSeparator
	}
}

// startsWord reports whether a character of class c, following one of class prev and
// followed by rest, begins a new word: at a lower-to-upper step (clientSecret), at the
// last capital of an acronym followed by lowercase (APIKey: the K), and between letters
// and digits.
func startsWord(prev, c class, rest string) bool {
	switch {
	case prev == classSeparator:
		return false // the separator already ended the previous word
	case c == classDigit || prev == classDigit:
		return c != prev
	case c == classUpper && prev == classLower:
		return true
	case c == classUpper && prev == classUpper:
		next, _ := utf8.DecodeRuneInString(rest)
		return classOf(next) == classLower
	default:
		return false
	}
}
