package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/webhooks"
)

// Webhook is how the API shows a webhook subscription; it never carries the secret.
type Webhook struct {
	ID         string    `json:"id" example:"q2w3e4r5t6y7u8i9"`
	URL        string    `json:"url" example:"https://siem.example.com/identityd"`
	EventTypes []string  `json:"event_types" example:"[\"admin.token.*\",\"system.started\"]" doc:"Event types, or patterns such as admin.token.* and *."`
	Enabled    bool      `json:"enabled"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toWebhook(s webhooks.Subscription) Webhook {
	return Webhook{ID: s.ID, URL: s.URL, EventTypes: s.EventTypes, Enabled: s.Enabled, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// WebhookDelivery is one entry of a subscription's delivery log.
type WebhookDelivery struct {
	ID             string     `json:"id" doc:"The delivery's id, sent as the webhook-id header on every attempt."`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	Status         string     `json:"status" enum:"pending,succeeded,failed"`
	Attempts       int        `json:"attempts"`
	LastStatusCode *int       `json:"last_status_code,omitempty" doc:"The HTTP status of the last attempt, when the receiver answered."`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

type webhookIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"The subscription's id."`
}

type webhookOutput struct {
	Body Webhook
}

type createWebhookInput struct {
	Body struct {
		URL        string   `json:"url" minLength:"1" maxLength:"2048" example:"https://siem.example.com/identityd" doc:"Where to POST events: http or https."`
		EventTypes []string `json:"event_types" minItems:"1" maxItems:"50" example:"[\"admin.token.*\"]" doc:"Which events to send: types, or patterns such as admin.token.* and *."`
	}
}

type webhookWithSecretOutput struct {
	Body struct {
		Webhook
		Secret string `json:"secret" doc:"Signs every delivery (Standard Webhooks: whsec_…). Shown only now; store it safely."`
	}
}

type listWebhooksOutput struct {
	Link string `header:"Link" doc:"The next page, as <url>; rel=\"next\", when there is one."`
	Body struct {
		Items []Webhook `json:"items" nullable:"false"`
	}
}

type pageInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Most items to return."`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where to continue: the cursor from the previous page's Link header."`
}

type updateWebhookInput struct {
	ID   string `path:"id" maxLength:"64" doc:"The subscription's id."`
	Body struct {
		URL        *string   `json:"url,omitempty" minLength:"1" maxLength:"2048"`
		EventTypes *[]string `json:"event_types,omitempty" minItems:"1" maxItems:"50"`
		Enabled    *bool     `json:"enabled,omitempty" doc:"false pauses deliveries: events sealed meanwhile are not sent."`
	}
}

type secretOutput struct {
	Body struct {
		Secret string `json:"secret" doc:"The new signing secret, shown only now. The old one stops at once."`
	}
}

type deliveriesInput struct {
	ID     string `path:"id" maxLength:"64" doc:"The subscription's id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Most deliveries to return."`
	Cursor string `query:"cursor" maxLength:"128" doc:"Where to continue: the cursor from the previous page's Link header."`
}

type deliveriesOutput struct {
	Link string `header:"Link" doc:"The next page, as <url>; rel=\"next\", when there is one."`
	Body struct {
		Items []WebhookDelivery `json:"items" nullable:"false"`
	}
}

// webhookFail maps the webhooks package's errors to problems.
func (h *handlers) webhookFail(ctx context.Context, op string, err error) error {
	var ve *webhooks.ValidationError
	switch {
	case errors.As(err, &ve):
		return fieldProblems(ve, bodyOrLimit)
	case errors.Is(err, webhooks.ErrNotFound):
		return huma.Error404NotFound("No webhook subscription has this id.")
	case errors.Is(err, webhooks.ErrBadCursor):
		return huma.Error400BadRequest("The cursor is not valid; start again without one.")
	}
	return h.fail(ctx, op, err)
}

func nextLink(path string, limit int, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}, "cursor": {cursor}}
	return "<" + path + "?" + q.Encode() + `>; rel="next"`
}

func (h *handlers) registerWebhooks() {
	tags := []string{"Webhooks"}
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "create-webhook",
		Method:        http.MethodPost,
		Path:          "/v1/webhooks",
		Summary:       "Subscribe a URL to audit events",
		Description:   "Each sealed event that matches is POSTed to the URL, signed in the Standard Webhooks layout, and retried with exponential backoff until it is accepted (2xx) or its attempts run out.",
		Tags:          tags,
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *createWebhookInput) (*webhookWithSecretOutput, error) {
		sub, secret, err := h.d.Webhooks.Create(ctx, in.Body.URL, in.Body.EventTypes)
		if err != nil {
			return nil, h.webhookFail(ctx, "create-webhook", err)
		}
		out := &webhookWithSecretOutput{}
		out.Body.Webhook, out.Body.Secret = toWebhook(sub), secret
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-webhooks",
		Method:      http.MethodGet,
		Path:        "/v1/webhooks",
		Summary:     "List webhook subscriptions",
		Tags:        tags,
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *pageInput) (*listWebhooksOutput, error) {
		page, err := h.d.Webhooks.List(ctx, in.Limit, in.Cursor)
		if err != nil {
			return nil, h.webhookFail(ctx, "list-webhooks", err)
		}
		out := &listWebhooksOutput{Link: nextLink("/v1/webhooks", in.Limit, page.Next)}
		out.Body.Items = make([]Webhook, 0, len(page.Subscriptions))
		for _, s := range page.Subscriptions {
			out.Body.Items = append(out.Body.Items, toWebhook(s))
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "get-webhook",
		Method:      http.MethodGet,
		Path:        "/v1/webhooks/{id}",
		Summary:     "Show a webhook subscription",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *webhookIDInput) (*webhookOutput, error) {
		sub, err := h.d.Webhooks.Get(ctx, in.ID)
		if err != nil {
			return nil, h.webhookFail(ctx, "get-webhook", err)
		}
		return &webhookOutput{Body: toWebhook(sub)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "update-webhook",
		Method:      http.MethodPatch,
		Path:        "/v1/webhooks/{id}",
		Summary:     "Change a webhook subscription",
		Description: "Send only what changes: url, event_types, enabled.",
		Tags:        tags,
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *updateWebhookInput) (*webhookOutput, error) {
		sub, err := h.d.Webhooks.Update(ctx, in.ID, webhooks.Update{URL: in.Body.URL, EventTypes: in.Body.EventTypes, Enabled: in.Body.Enabled})
		if err != nil {
			return nil, h.webhookFail(ctx, "update-webhook", err)
		}
		return &webhookOutput{Body: toWebhook(sub)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "delete-webhook",
		Method:        http.MethodDelete,
		Path:          "/v1/webhooks/{id}",
		Summary:       "Delete a webhook subscription and its delivery log",
		Tags:          tags,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}), func(ctx context.Context, in *webhookIDInput) (*struct{}, error) {
		if err := h.d.Webhooks.Delete(ctx, in.ID); err != nil {
			return nil, h.webhookFail(ctx, "delete-webhook", err)
		}
		return nil, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "rotate-webhook-secret",
		Method:      http.MethodPost,
		Path:        "/v1/webhooks/{id}/secret",
		Summary:     "Replace a webhook's signing secret",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *webhookIDInput) (*secretOutput, error) {
		secret, err := h.d.Webhooks.RotateSecret(ctx, in.ID)
		if err != nil {
			return nil, h.webhookFail(ctx, "rotate-webhook-secret", err)
		}
		out := &secretOutput{}
		out.Body.Secret = secret
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-webhook-deliveries",
		Method:      http.MethodGet,
		Path:        "/v1/webhooks/{id}/deliveries",
		Summary:     "Show a webhook's delivery log",
		Description: "Newest first: each delivery with its status, attempts and the last error.",
		Tags:        tags,
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound},
	}), func(ctx context.Context, in *deliveriesInput) (*deliveriesOutput, error) {
		page, err := h.d.Webhooks.Deliveries(ctx, in.ID, in.Limit, in.Cursor)
		if err != nil {
			return nil, h.webhookFail(ctx, "list-webhook-deliveries", err)
		}
		out := &deliveriesOutput{Link: nextLink("/v1/webhooks/"+in.ID+"/deliveries", in.Limit, page.Next)}
		out.Body.Items = make([]WebhookDelivery, 0, len(page.Deliveries))
		for _, d := range page.Deliveries {
			out.Body.Items = append(out.Body.Items, WebhookDelivery{ID: d.ID, EventID: d.EventID, EventType: d.EventType,
				Status: d.Status, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError,
				CreatedAt: d.CreatedAt, LastAttemptAt: d.LastAttemptAt, DeliveredAt: d.DeliveredAt})
		}
		return out, nil
	})
}
