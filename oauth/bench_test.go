package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/benchtest"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func eachBackend(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.FreshPostgres(b)) })
}

// discard is a ResponseWriter that costs next to nothing and keeps the status.
type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(s int)           { d.status = s }

// concurrency is how many callers the benchmarks run at once: the 64 clients of the
// load run, as a server under load has. The raw operations are bound by the CPU and run
// no faster for it; the endpoints' database work commits in groups, as it does then.
const concurrency = 64

// benchIDP is an identity provider set up as the server runs it: the audit insert
// prepared and a sealer moving recorded events into the chain, whose work shares the
// machine with the requests'.
func benchIDP(b *testing.B, db *store.DB) *idp {
	d := newIDP(b, db, idpOptions{})
	if err := d.audit.Prepare(b.Context()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		audit.NewSealer(d.audit, nil, audit.SealerConfig{}).Run(ctx)
	}()
	b.Cleanup(func() { cancel(); <-done })
	return d
}

// benchKey is the current ES256 signing key's private half, for the raw operations.
func benchKey(b *testing.B, d *idp) *ecdsa.PrivateKey {
	_, signer, err := d.keys.Signing(signingkeys.ES256)
	if err != nil {
		b.Fatal(err)
	}
	return signer.(*ecdsa.PrivateKey)
}

// BenchmarkClientCredentialsVersusRawSign compares whole client_credentials token
// issues — form parsing, client authentication, fosite's grant, the JWT's claims and
// signature, the audit event committed to the real store — called in-process through the
// endpoint's HTTP handler, with bare ES256 signatures of a token-sized payload. The
// target is rate-% ≥ 50: issuing a token costs at most twice its signature.
func BenchmarkClientCredentialsVersusRawSign(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		d := benchIDP(b, db)
		svc, secret := d.service([]string{"reports"}, []string{"https://api.example.com"})
		key := benchKey(b, d)
		payload := sha256.Sum256([]byte(strings.Repeat("x", 400)))
		body := url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}.Encode()
		sign := func(int) error {
			_, err := ecdsa.SignASN1(rand.Reader, key, payload[:])
			return err
		}
		benchtest.Versus(b, concurrency, 64*concurrency, "es256-sign", sign, "token",
			postForm(d.srv.Config.Handler, oauth.TokenPath, body, svc.ID, secret))
	})
}

// BenchmarkIntrospectionVersusRawVerify compares introspections of a JWT access token —
// client authentication, the signature, the revocation list, the audience rule, the
// answer — through the endpoint's HTTP handler with bare ES256 verifications. The
// target is rate-% ≥ 50.
func BenchmarkIntrospectionVersusRawVerify(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		d := benchIDP(b, db)
		svc, secret := d.service([]string{"reports"}, []string{"https://api.example.com"})
		tok := d.token(url.Values{"grant_type": {"client_credentials"}, "scope": {"reports"}}, svc.ID, secret).AccessToken
		key := benchKey(b, d)
		digest := sha256.Sum256([]byte(tok[:strings.LastIndexByte(tok, '.')]))
		sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		if err != nil {
			b.Fatal(err)
		}
		body := url.Values{"token": {tok}}.Encode()
		verify := func(int) error {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				return &statusError{0}
			}
			return nil
		}
		benchtest.Versus(b, concurrency, 64*concurrency, "es256-verify", verify, "introspect",
			postForm(d.srv.Config.Handler, oauth.IntrospectPath, body, svc.ID, secret))
	})
}

// postForm is a call of handler at path with form body and HTTP Basic client
// authentication, that fails unless the answer is 200.
func postForm(handler http.Handler, path, body, id, secret string) func(int) error {
	return func(int) error {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(id, secret)
		w := &discard{h: http.Header{}}
		handler.ServeHTTP(w, r)
		if w.status != 0 && w.status != http.StatusOK {
			return &statusError{w.status}
		}
		return nil
	}
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.status) }
