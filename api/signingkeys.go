package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/signingkeys"
)

// SigningKey is how the API shows a token signing key: when it signs and is published,
// never its private part.
type SigningKey struct {
	ID    string `json:"kid" example:"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" doc:"The key id: its RFC 7638 thumbprint."`
	Alg   string `json:"alg" enum:"ES256,RS256" doc:"The JWS algorithm the key signs with."`
	State string `json:"state" enum:"next,current,retired" doc:"next: published, signs from activates_at; current: signs; retired: signs no more, published until unpublish_at."`
	// CreatedAt is also when the key was first published.
	CreatedAt   time.Time  `json:"created_at" doc:"When the key was made and published."`
	ActivatesAt time.Time  `json:"activates_at" doc:"When the key starts (or started) signing."`
	RetiredAt   *time.Time `json:"retired_at,omitempty" doc:"When a later key replaced it."`
	UnpublishAt *time.Time `json:"unpublish_at,omitempty" doc:"When it leaves the JWKS, every token it signed having expired."`
}

// FromSigningKey is k as the API shows it, and identityd keys list prints it with
// --output json.
func FromSigningKey(k signingkeys.Key) SigningKey {
	return SigningKey{ID: k.ID, Alg: string(k.Alg), State: k.State, CreatedAt: k.CreatedAt, ActivatesAt: k.ActivatesAt,
		RetiredAt: k.RetiredAt, UnpublishAt: k.UnpublishAt}
}

type listSigningKeysOutput struct {
	Body struct {
		Items []SigningKey `json:"items" nullable:"false"`
	}
}

type rotateSigningKeyInput struct {
	Body struct {
		Alg         string `json:"alg" enum:"ES256,RS256" doc:"The algorithm whose key to replace: ES256 (access tokens, by default) or RS256 (ID tokens, and access tokens when oauth_access_token_alg is RS256)."`
		Immediately bool   `json:"immediately,omitempty" doc:"Replace the key at once, for a key that is or may be compromised: the new key signs now and every other key of alg is unpublished, so tokens they signed stop verifying. Relying parties must refetch the JWKS to know the new key."`
	}
}

type signingKeyOutput struct {
	Body SigningKey
}

// keyFail maps the signingkeys package's errors to problems.
func (h *handlers) keyFail(ctx context.Context, op string, k signingkeys.Key, err error) error {
	switch {
	case errors.Is(err, signingkeys.ErrNextKeyPending):
		return huma.Error409Conflict("A next " + string(k.Alg) + " key, " + k.ID + ", is pending already: it signs from " +
			k.ActivatesAt.UTC().Format(time.RFC3339) + ". That key is the rotation; to replace the keys at once instead, rotate immediately.")
	case errors.Is(err, signingkeys.ErrUnsupportedAlg):
		return huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "body.alg",
			Message: "is not an algorithm this server keeps keys for (RS256, and oauth_access_token_alg)"})
	}
	return h.fail(ctx, op, err)
}

func (h *handlers) registerSigningKeys() {
	tags := []string{"Signing keys"}
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-signing-keys",
		Method:      http.MethodGet,
		Path:        "/v1/keys",
		Summary:     "List token signing keys",
		Description: "Every stored key, by algorithm and then activation, with its state now. For each algorithm one " +
			"key is current (it signs); a next key is published ahead of signing, so that relying parties know it " +
			"first; a retired key is published until every token it signed has expired. No private key material " +
			"is ever shown.",
		Tags: tags,
	}), func(ctx context.Context, _ *struct{}) (*listSigningKeysOutput, error) {
		keys, err := h.d.Keys.List(ctx)
		if err != nil {
			return nil, h.fail(ctx, "list-signing-keys", err)
		}
		out := &listSigningKeysOutput{}
		out.Body.Items = make([]SigningKey, 0, len(keys))
		for _, k := range keys {
			out.Body.Items = append(out.Body.Items, FromSigningKey(k))
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "rotate-signing-key",
		Method:      http.MethodPost,
		Path:        "/v1/keys/rotate",
		Summary:     "Rotate an algorithm's signing key",
		Description: "Makes a new key for alg and returns it. Normally it is published at once and starts signing " +
			"after signing_key_publish_lead (state next), when the current key retires; tokens already issued " +
			"keep verifying. While a next key is pending this answers 409 naming it. With immediately the new key " +
			"signs at once and every other key of alg is deleted: tokens they signed stop verifying. Audited.",
		Tags:   tags,
		Errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *rotateSigningKeyInput) (*signingKeyOutput, error) {
		k, err := h.d.Keys.Rotate(ctx, signingkeys.Alg(in.Body.Alg), in.Body.Immediately)
		if err != nil && k.ID != "" && !errors.Is(err, signingkeys.ErrNextKeyPending) {
			// The new key is stored; only this process's reload of the keys failed, and
			// its periodic reload will catch up. Answering with an error would invite a
			// retry that rotates again.
			h.d.Logger.WarnContext(ctx, "signing key rotated, but reloading the keys failed",
				slog.String("kid", k.ID), slog.String("request_id", requestinfo.From(ctx).ID), slog.String("error", err.Error()))
			err = nil
		}
		if err != nil {
			return nil, h.keyFail(ctx, "rotate-signing-key", k, err)
		}
		return &signingKeyOutput{Body: FromSigningKey(k)}, nil
	})
}
