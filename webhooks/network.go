package webhooks

import (
	"net/http"

	"github.com/identityd/identityd/outbound"
)

// maxResponseBytes is how much of a response is read: receivers' answers are not kept,
// and a receiver must not make identityd read without end.
const maxResponseBytes = 64 << 10

// newClient returns the HTTP client deliveries use (see package outbound).
func newClient(cfg Config) *http.Client {
	return outbound.NewClient(outbound.Config{Timeout: cfg.Timeout, AllowPrivateNetworks: cfg.AllowPrivateNetworks})
}
