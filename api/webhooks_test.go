package api_test

import (
	"net/http"
	"testing"

	"github.com/identityd/identityd/api"
)

// webhookView is a created webhook as the API returns it, with its secret.
type webhookView struct {
	api.Webhook
	Secret string `json:"secret"`
}

func (a *testAPI) createWebhook(t testing.TB, body string) webhookView {
	t.Helper()
	var w webhookView
	wantStatus(t, a.call(t, http.MethodPost, "/v1/webhooks", body), http.StatusCreated, &w)
	return w
}
