package oauth

import "net/http"

// pushedAuthorize is the pushed authorization request endpoint (RFC 9126): a client
// authenticates and sends its authorization request here first, and the browser then
// carries only the request_uri it gets back, good for a short while and once.
func (p *Provider) pushedAuthorize(w http.ResponseWriter, r *http.Request) {
	limitForm(w, r)
	ctx := r.Context()
	ar, err := p.fosite.NewPushedAuthorizeRequest(ctx, r)
	if err != nil {
		p.fosite.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	resp, err := p.fosite.NewPushedAuthorizeResponse(ctx, ar, newSession())
	if err != nil {
		p.fosite.WritePushedAuthorizeError(ctx, w, ar, err)
		return
	}
	p.fosite.WritePushedAuthorizeResponse(ctx, w, ar, resp)
}
