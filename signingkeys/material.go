package signingkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v3"
)

// rsaBits is the size of generated RSA keys: what RS256 deployments expect, and NIST's
// minimum until 2030. Larger keys would slow every ID token for no present gain.
const rsaBits = 2048

// useSig is the JWK "use" of every published key: signatures only (RFC 7517 §4.2).
const useSig = "sig"

// fresh is a newly generated key, not stored yet.
type fresh struct {
	alg    Alg
	id     string
	signer crypto.Signer
	jwk    []byte // the public JWK as published and stored
}

// generate makes a new key for alg.
func generate(alg Alg) (*fresh, error) {
	var (
		signer crypto.Signer
		err    error
	)
	switch alg {
	case ES256:
		signer, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		signer, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	jwk, text, err := publicJWK(alg, signer.Public())
	if err != nil {
		return nil, err
	}
	return &fresh{alg: alg, id: jwk.KeyID, signer: signer, jwk: text}, nil
}

// publicJWK describes pub as it is published: with its thumbprint as kid, its algorithm
// and use "sig", and nothing private.
func publicJWK(alg Alg, pub crypto.PublicKey) (jose.JSONWebKey, []byte, error) {
	jwk := jose.JSONWebKey{Key: pub, Algorithm: string(alg), Use: useSig}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return jose.JSONWebKey{}, nil, fmt.Errorf("thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	text, err := jwk.MarshalJSON()
	if err != nil {
		return jose.JSONWebKey{}, nil, fmt.Errorf("encode JWK %s: %w", jwk.KeyID, err)
	}
	return jwk, text, nil
}

// additionalData binds a stored private key to its kid, so that a ciphertext copied to
// another row does not open.
func additionalData(kid string) []byte { return []byte("signing-key:" + kid) }

// seal returns f's private key as stored: PKCS #8, encrypted by the keyring.
func (s *Service) seal(f *fresh) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(f.signer)
	if err != nil {
		return nil, fmt.Errorf("encode key %s: %w", f.id, err)
	}
	defer clear(der)
	enc, err := s.kr.Encrypt(der, additionalData(f.id))
	if err != nil {
		return nil, fmt.Errorf("encrypt key %s: %w", f.id, err)
	}
	return enc, nil
}

// publicForm is a key as the JWKS publishes it.
type publicForm struct {
	jwk  jose.JSONWebKey
	text []byte // jwk in JSON
}

// opened is a stored key whose private part decrypted under its kid and matches its
// kid, algorithm and stored public JWK.
type opened struct {
	signer crypto.Signer
	public publicForm
}

// open decrypts and checks the stored key r. A key that fails any check is refused:
// whoever wrote it could not have used the keyring, so it must never be published.
func (s *Service) open(r row) (opened, error) {
	der, err := s.kr.Decrypt(r.privateEnc, additionalData(r.id))
	if err != nil {
		return opened{}, fmt.Errorf("key %s: %w", r.id, err)
	}
	defer clear(der)
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return opened{}, fmt.Errorf("key %s: parse private key: %w", r.id, err)
	}
	signer, err := checkPrivate(r.alg, priv)
	if err != nil {
		return opened{}, fmt.Errorf("key %s: %w", r.id, err)
	}
	jwk, text, err := publicJWK(r.alg, signer.Public())
	if err != nil {
		return opened{}, fmt.Errorf("key %s: %w", r.id, err)
	}
	if jwk.KeyID != r.id {
		return opened{}, fmt.Errorf("key %s: the private key's thumbprint is %s", r.id, jwk.KeyID)
	}
	stored, err := parseJWK(r)
	if err != nil {
		return opened{}, err
	}
	if pub, ok := stored.Key.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(signer.Public()) {
		return opened{}, fmt.Errorf("key %s: the stored public key is not the private key's", r.id)
	}
	return opened{signer: signer, public: publicForm{jwk: jwk, text: text}}, nil
}

// parseJWK reads the stored public JWK of r and checks that it describes r.
func parseJWK(r row) (jose.JSONWebKey, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal([]byte(r.publicJWK), &jwk); err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("key %s: stored public JWK: %w", r.id, err)
	}
	if jwk.KeyID != r.id || jwk.Algorithm != string(r.alg) || jwk.Use != useSig || !jwk.IsPublic() {
		return jose.JSONWebKey{}, fmt.Errorf("key %s: the stored public JWK does not describe a public %s signing key with this kid",
			r.id, r.alg)
	}
	switch jwk.Key.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return jwk, nil
	default:
		return jose.JSONWebKey{}, fmt.Errorf("key %s: the stored public JWK holds a %T", r.id, jwk.Key)
	}
}

// checkPrivate returns priv as a signer if it is a key of alg's kind and size.
func checkPrivate(alg Alg, priv any) (crypto.Signer, error) {
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		if alg == ES256 && k.Curve == elliptic.P256() {
			return k, nil
		}
	case *rsa.PrivateKey:
		if alg == RS256 && k.N.BitLen() >= rsaBits {
			return k, nil
		}
	}
	return nil, errors.New("the private key does not fit its algorithm " + string(alg))
}
