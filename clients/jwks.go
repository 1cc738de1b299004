package clients

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v3"
)

// Limits on a registered key set. RSA keys above 8192 bits buy no security and make
// every signature check slower, which an attacker could lean on.
const (
	MaxJWKSBytes = 64 << 10
	MaxJWKSKeys  = 10
	minRSABits   = 2048
	maxRSABits   = 8192
)

// privateMembers are the JWK members that carry private or secret key material (RFC 7518
// §6.2.2, §6.3.2, §6.4.1). They are looked for in the key's own JSON, not only in what
// go-jose parsed: it ignores p and q without d, and a key set holding them would store
// an RSA private key whatever the parse said.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// signingAlgs are the JWS algorithms (RFC 7518 §3.1) that fit each kind of key, for a
// key that declares one.
var signingAlgs = map[string][]string{
	"RSA":   {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
	"P-256": {"ES256"},
	"P-384": {"ES384"},
}

// checkJWKS checks a JWK Set of the public keys a private_key_jwt client signs its
// assertions with, adding what it refuses to errs. It returns the set as it is stored:
// re-encoded from the parsed keys, so that nothing but the checked public keys is kept
// (unknown members and duplicate spellings of a member go), or nil when it was refused.
func checkJWKS(errs *fieldErrors, raw []byte) []byte {
	if len(raw) > MaxJWKSBytes {
		errs.Add("jwks", fmt.Sprintf("must be at most %d KiB", MaxJWKSBytes>>10))
		return nil
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || trimmed[0] != '{' ||
		json.Unmarshal(trimmed, &set) != nil || set.Keys == nil {
		errs.Add("jwks", `must be a JWK Set: a JSON object with a "keys" array`)
		return nil
	}
	switch {
	case len(set.Keys) == 0:
		errs.Add("jwks", "must hold at least one key")
		return nil
	case len(set.Keys) > MaxJWKSKeys:
		errs.Add("jwks", fmt.Sprintf("must hold at most %d keys", MaxJWKSKeys))
		return nil
	}
	before := len(*errs)
	keys := make([]jose.JSONWebKey, 0, len(set.Keys))
	kids := map[string]int{}
	for i, rawKey := range set.Keys {
		field := fmt.Sprintf("jwks.keys[%d]", i)
		key, reason := checkJWK(rawKey)
		if reason == "" && key.KeyID != "" {
			if j, ok := kids[key.KeyID]; ok {
				reason = fmt.Sprintf("repeats the kid of jwks.keys[%d]; a verifier could not tell them apart", j)
			}
			kids[key.KeyID] = i
		}
		if reason != "" {
			errs.Add(field, reason)
			continue
		}
		keys = append(keys, key)
	}
	if len(*errs) > before {
		return nil
	}
	out, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		// go-jose marshals every public RSA and EC key it parsed; a failure here is a
		// key it cannot write back, which must not be stored either.
		errs.Add("jwks", "could not be re-encoded")
		return nil
	}
	return out
}

// checkJWK parses one key of a set and returns it, or why it is refused.
func checkJWK(raw json.RawMessage) (jose.JSONWebKey, string) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return jose.JSONWebKey{}, "must be a JSON object (a JWK)"
	}
	for name := range members {
		// go-jose matches member names regardless of case, so "D" is d too.
		if slices.Contains(privateMembers, strings.ToLower(name)) {
			return jose.JSONWebKey{}, fmt.Sprintf("holds private key material (%q): register only the public key", strings.ToLower(name))
		}
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() || !key.IsPublic() {
		return jose.JSONWebKey{}, "is not a valid public JWK: it needs kty RSA (with n and e) or EC (with crv, x and y on the curve)"
	}
	var kind string
	switch k := key.Key.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits < minRSABits:
			return key, fmt.Sprintf("is a %d-bit RSA key; RSA keys must have at least %d bits", bits, minRSABits)
		case bits > maxRSABits:
			return key, fmt.Sprintf("is a %d-bit RSA key; RSA keys must have at most %d bits", bits, maxRSABits)
		case k.E < 3 || k.E%2 == 0:
			return key, "has an invalid RSA public exponent"
		}
		kind = "RSA"
	case *ecdsa.PublicKey:
		kind = k.Curve.Params().Name
		if signingAlgs[kind] == nil {
			return key, "must be on curve P-256 or P-384"
		}
	default:
		return key, "must be an RSA key of at least 2048 bits or an EC key on P-256 or P-384"
	}
	if key.Use != "" && key.Use != "sig" {
		return key, `must be a signing key ("use": "sig"), for it verifies the client's signatures`
	}
	if key.Algorithm != "" && !slices.Contains(signingAlgs[kind], key.Algorithm) {
		return key, fmt.Sprintf("declares an alg that does not fit the key; use one of %s", strings.Join(signingAlgs[kind], ", "))
	}
	return key, ""
}
