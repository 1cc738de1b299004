package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SecretPrefix starts every signing secret, as the Standard Webhooks spec serialises
// symmetric secrets.
const SecretPrefix = "whsec_"

// secretBytes is the size of a signing key: 256 bits (the spec asks for 192 to 512).
const secretBytes = 32

// newSecret returns a new signing secret: the prefix and the standard base64 of the key.
func newSecret() string {
	key := make([]byte, secretBytes)
	_, _ = rand.Read(key) // never fails: crypto/rand crashes the program rather than return short
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// secretAAD binds a stored secret to its subscription, so a ciphertext copied to another
// row does not decrypt.
func secretAAD(subscriptionID string) []byte { return []byte("webhook_secret:" + subscriptionID) }

// errBadSecret means a stored secret, once decrypted, is not one newSecret made.
var errBadSecret = errors.New("webhooks: stored secret is malformed")

// sign returns the webhook-signature header value for one attempt: "v1," and the
// standard base64 of HMAC-SHA256 over "<id>.<timestamp>.<body>", keyed with the secret's
// decoded key.
func sign(secret, id string, timestamp int64, body []byte) (string, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return "", errBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) == 0 {
		return "", fmt.Errorf("%w: not base64", errBadSecret)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte("."))
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}
