package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store/storetest"
)

// document is the API's OpenAPI document, loaded once per test binary. Serving it touches
// no database, so it comes from an API mounted without one.
var document struct {
	once   sync.Once
	raw    map[string][]byte // by path: the 3.1 JSON and the 3.0 JSON
	doc    *openapi3.T
	router routers.Router
	err    error
}

const (
	documentPath   = "/v1/openapi.json"
	document30Path = "/v1/openapi-3.0.json"
)

func loadDocument(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	document.once.Do(func() {
		mux := http.NewServeMux()
		api.Register(mux, api.Deps{Version: "test", BodyLimit: bodyLimit, Logger: slog.New(slog.DiscardHandler)})
		document.raw = map[string][]byte{}
		for _, p := range []string{documentPath, document30Path} {
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			if rec.Code != http.StatusOK {
				document.err = fmt.Errorf("GET %s: %d %s", p, rec.Code, rec.Body)
				return
			}
			document.raw[p] = rec.Body.Bytes()
		}
		// kin-openapi v0.152.0 reads OpenAPI 3.1 (JSON Schema 2020-12 schemas, type
		// arrays) and validates responses with the 2020-12 validator when the document
		// says 3.1, so the document that clients get is the one checked.
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(document.raw[documentPath])
		if err != nil {
			document.err = fmt.Errorf("load %s: %v", documentPath, err)
			return
		}
		document.doc = doc
		document.router, document.err = gorillamux.NewRouter(doc)
	})
	if document.err != nil {
		t.Fatal(document.err)
	}
	return document.doc, document.router
}

// conformsToDocument validates a reply to a documented operation against the document:
// its status must be documented, and its headers and body must match what is documented
// for that status. It returns the operation's id, or "" for a reply to anything else.
// The live stream's body is text; kin-openapi checks it as the document's string.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream",
		func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(body)
			return string(b), err
		})
}

func conformsToDocument(t testing.TB, r *http.Request, res reply) string {
	t.Helper()
	_, router := loadDocument(t)
	route, params, err := router.FindRoute(r)
	if err != nil {
		return "" // not a documented operation: the docs, the document itself, a 404
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: the %d reply does not match the OpenAPI document (operation %s): %v\nbody: %s",
			r.Method, r.URL, res.status, route.Operation.OperationID, err, res.body)
	}
	return route.Operation.OperationID
}

func TestTheOpenAPIDocumentIsValidOpenAPI31AndRequiresAnAdminTokenEverywhere(t *testing.T) {
	a := newAPI(t, storetest.SQLite(t))
	// Swagger UI fetches the document without credentials.
	res := a.get(t, documentPath)
	wantStatus(t, res, http.StatusOK, nil)
	if ct := res.header.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Errorf("Content-Type = %q, want JSON", ct)
	}
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal(res.body, &head); err != nil || head.OpenAPI != "3.1.0" {
		t.Fatalf(`"openapi" = %q (%v), want "3.1.0"`, head.OpenAPI, err)
	}
	for _, p := range []string{"/v1/openapi.yaml", document30Path} {
		if res := a.get(t, p); res.status != http.StatusOK || len(res.body) == 0 {
			t.Errorf("GET %s: %d, want the document", p, res.status)
		}
	}

	doc, _ := loadDocument(t)
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("kin-openapi reads the document as OpenAPI %s", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Errorf("the 3.1 document is not valid: %v", err)
	}
	doc30, err := openapi3.NewLoader().LoadFromData(document.raw[document30Path])
	if err != nil {
		t.Fatalf("load the 3.0 document: %v", err)
	}
	if err := doc30.Validate(context.Background()); err != nil || !strings.HasPrefix(doc30.OpenAPI, "3.0.") {
		t.Errorf("the 3.0 document (openapi %q) is not valid: %v", doc30.OpenAPI, err)
	}

	scheme := doc.Components.SecuritySchemes[bearerSchemeName]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" {
		t.Errorf("security scheme %s = %+v, want HTTP bearer", bearerSchemeName, scheme)
	}
	problem := doc.Components.Schemas["ErrorModel"]
	if problem == nil {
		t.Fatal("the document has no ErrorModel schema")
	}
	for _, field := range []string{"type", "title", "status", "detail", "instance", "errors"} {
		if problem.Value.Properties[field] == nil {
			t.Errorf("the problem schema lacks %q (RFC 9457)", field)
		}
	}

	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			name := method + " " + path
			if op.Security == nil || len(*op.Security) != 1 || len((*op.Security)[0]) != 1 || (*op.Security)[0][bearerSchemeName] == nil {
				t.Errorf("%s: security %v, want exactly the %s requirement", name, op.Security, bearerSchemeName)
			}
			for _, code := range []int{http.StatusUnauthorized, http.StatusServiceUnavailable, http.StatusInternalServerError} {
				if op.Responses.Status(code) == nil {
					t.Errorf("%s: %d is not documented", name, code)
				}
			}
			for code, r := range op.Responses.Map() {
				if code < "400" {
					continue
				}
				mt := r.Value.Content.Get("application/problem+json")
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/ErrorModel" {
					t.Errorf("%s: %s is not documented as an application/problem+json ErrorModel", name, code)
				}
			}
		}
	}
	if ops != 36 {
		t.Errorf("the document has %d operations, want 36 (status; list, create and revoke admin tokens; "+
			"list, verify, stream audit events and list their types; create, list, get, update, delete webhooks, "+
			"rotate their secrets and list their deliveries; create, list, get, update, delete users, set their "+
			"password, unlock them, send them verification and reset links, import them; list a user's sessions, "+
			"end them all or one; create, list, get, update, delete OAuth clients and rotate their secrets; list "+
			"and rotate signing keys)", ops)
	}
}

// bearerSchemeName is the name the document gives the admin-token security scheme.
const bearerSchemeName = "adminToken"

func TestEveryDocumentedResponseOfEveryOperationHappens(t *testing.T) {
	answered := map[string]map[int]bool{}
	collect := func(a *testAPI) {
		for op, statuses := range a.answered {
			if answered[op] == nil {
				answered[op] = map[int]bool{}
			}
			for s := range statuses {
				answered[op][s] = true
			}
		}
	}
	all := func(failing bool) []request {
		return []request{
			{method: http.MethodGet, target: "/v1/status", failing: failing},
			{method: http.MethodGet, target: "/v1/admin-tokens", failing: failing},
			{method: http.MethodPost, target: "/v1/admin-tokens", body: `{}`, failing: failing},
			{method: http.MethodDelete, target: "/v1/admin-tokens/x", failing: failing},
			{method: http.MethodGet, target: "/v1/audit/events", failing: failing},
			{method: http.MethodGet, target: "/v1/audit/verify", failing: failing},
			{method: http.MethodGet, target: "/v1/audit/event-types", failing: failing},
			{method: http.MethodGet, target: "/v1/audit/stream", failing: failing, timeout: 300 * time.Millisecond},
			{method: http.MethodPost, target: "/v1/webhooks", body: `{"url":"https://hooks.example.com/x","event_types":["*"]}`, failing: failing},
			{method: http.MethodGet, target: "/v1/webhooks", failing: failing},
			{method: http.MethodGet, target: "/v1/webhooks/x", failing: failing},
			{method: http.MethodPatch, target: "/v1/webhooks/x", body: `{"enabled":false}`, failing: failing},
			{method: http.MethodDelete, target: "/v1/webhooks/x", failing: failing},
			{method: http.MethodPost, target: "/v1/webhooks/x/secret", failing: failing},
			{method: http.MethodGet, target: "/v1/webhooks/x/deliveries", failing: failing},
			{method: http.MethodPost, target: "/v1/users", body: `{"email":"all@example.com"}`, failing: failing},
			{method: http.MethodGet, target: "/v1/users", failing: failing},
			{method: http.MethodGet, target: "/v1/users/x", failing: failing},
			{method: http.MethodPatch, target: "/v1/users/x", body: `{"name":"x"}`, failing: failing},
			{method: http.MethodDelete, target: "/v1/users/x", failing: failing},
			{method: http.MethodPost, target: "/v1/users/x/password", body: `{"password":"amber lantern field 77"}`, failing: failing},
			{method: http.MethodPost, target: "/v1/users/x/unlock", failing: failing},
			{method: http.MethodPost, target: "/v1/users/x/verification-email", failing: failing},
			{method: http.MethodPost, target: "/v1/users/x/password-reset-email", failing: failing},
			{method: http.MethodPost, target: "/v1/users/import", body: `{"email":"all@example.com"}`, failing: failing,
				header: http.Header{"Content-Type": {"application/x-ndjson"}}},
			{method: http.MethodGet, target: "/v1/users/x/sessions", failing: failing},
			{method: http.MethodDelete, target: "/v1/users/x/sessions", failing: failing},
			{method: http.MethodDelete, target: "/v1/users/x/sessions/y", failing: failing},
			{method: http.MethodPost, target: "/v1/clients", body: `{"name":"all","grant_types":["client_credentials"]}`, failing: failing},
			{method: http.MethodGet, target: "/v1/clients", failing: failing},
			{method: http.MethodGet, target: "/v1/clients/x", failing: failing},
			{method: http.MethodPatch, target: "/v1/clients/x", body: `{"name":"x"}`, failing: failing},
			{method: http.MethodDelete, target: "/v1/clients/x", failing: failing},
			{method: http.MethodPost, target: "/v1/clients/x/secret", failing: failing},
			{method: http.MethodGet, target: "/v1/keys", failing: failing},
			{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":"ES256"}`, failing: failing},
		}
	}
	anonymous := http.Header{"Authorization": nil}

	a := newAPI(t, storetest.SQLite(t))
	victim := a.createToken(t, `{"name":"victim"}`)
	hook := a.createWebhook(t, `{"url":"https://hooks.example.com/a","event_types":["admin.token.*"]}`)
	doomed := a.createWebhook(t, `{"url":"https://hooks.example.com/b","event_types":["*"]}`)
	ada := a.createUser(t, `{"email":"ada@example.com","username":"ada"}`)
	verified := a.createUser(t, `{"email":"verified@example.com","email_verified":true}`)
	gone := a.createUser(t, `{"email":"gone@example.com"}`)
	off := a.createUser(t, `{"email":"off@example.com"}`)
	wantStatus(t, a.call(t, http.MethodPatch, "/v1/users/"+off.ID, `{"status":"disabled"}`), http.StatusOK, nil)
	long := strings.Repeat("x", 65)
	// verified's password is never set below, which would end the session first.
	_, verifiedSession, err := a.sessions.Establish(context.Background(), "", verified.ID, sessions.Auth{Methods: []string{"pwd"}})
	if err != nil {
		t.Fatal(err)
	}
	ndjson := http.Header{"Content-Type": {"application/x-ndjson"}}
	web := a.createClient(t, `{"name":"web","grant_types":["client_credentials"]}`)
	spa := a.createClient(t, `{"name":"spa","public":true,"grant_types":["authorization_code"],"redirect_uris":["https://spa.example.com/cb"]}`)
	doomedClient := a.createClient(t, `{"name":"doomed","grant_types":["client_credentials"]}`)
	if err := a.keys.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	textPlain := http.Header{"Content-Type": {"text/plain"}}
	huge := `{"name":"` + strings.Repeat("a", bodyLimit) + `"}`
	for _, req := range []request{
		{method: http.MethodGet, target: "/v1/status"},
		{method: http.MethodGet, target: "/v1/status?x=1"},
		{method: http.MethodGet, target: "/v1/admin-tokens?limit=1"},
		{method: http.MethodGet, target: "/v1/admin-tokens?cursor=!!!"},
		{method: http.MethodGet, target: "/v1/admin-tokens?limit=0"},
		{method: http.MethodPost, target: "/v1/admin-tokens", body: `{"name":`},
		{method: http.MethodPost, target: "/v1/admin-tokens", body: `{"ttl":"1s"}`},
		{method: http.MethodPost, target: "/v1/admin-tokens", body: `{"name":"` + strings.Repeat("a", bodyLimit) + `"}`},
		{method: http.MethodPost, target: "/v1/admin-tokens", body: `{}`, header: http.Header{"Content-Type": {"text/plain"}}},
		{method: http.MethodDelete, target: "/v1/admin-tokens/" + victim.ID},
		{method: http.MethodDelete, target: "/v1/admin-tokens/nosuchtoken"},
		{method: http.MethodDelete, target: "/v1/admin-tokens/" + strings.Repeat("x", 65)},
		{method: http.MethodGet, target: "/v1/audit/events?type=admin.token&limit=1"},
		{method: http.MethodGet, target: "/v1/audit/events?cursor=!!!"},
		{method: http.MethodGet, target: "/v1/audit/events?since=yesterday"},
		{method: http.MethodGet, target: "/v1/audit/verify"},
		{method: http.MethodGet, target: "/v1/audit/verify?x=1"},
		{method: http.MethodGet, target: "/v1/audit/event-types"},
		{method: http.MethodGet, target: "/v1/audit/event-types?x=1"},
		{method: http.MethodGet, target: "/v1/audit/stream", timeout: 300 * time.Millisecond},
		{method: http.MethodGet, target: "/v1/audit/stream?outcome=maybe"},
		{method: http.MethodPost, target: "/v1/webhooks", body: `{"url":"ftp://x","event_types":["*"]}`},
		{method: http.MethodPost, target: "/v1/webhooks", body: `{"url":`},
		{method: http.MethodPost, target: "/v1/webhooks", body: `{"url":"` + strings.Repeat("a", bodyLimit) + `"}`},
		{method: http.MethodPost, target: "/v1/webhooks", body: `{}`, header: http.Header{"Content-Type": {"text/plain"}}},
		{method: http.MethodGet, target: "/v1/webhooks?limit=1"},
		{method: http.MethodGet, target: "/v1/webhooks?cursor=!!!"},
		{method: http.MethodGet, target: "/v1/webhooks?limit=0"},
		{method: http.MethodGet, target: "/v1/webhooks/" + hook.ID},
		{method: http.MethodGet, target: "/v1/webhooks/nosuchhook"},
		{method: http.MethodGet, target: "/v1/webhooks/" + strings.Repeat("x", 65)},
		{method: http.MethodPatch, target: "/v1/webhooks/" + hook.ID, body: `{"enabled":false}`},
		{method: http.MethodPatch, target: "/v1/webhooks/nosuchhook", body: `{"enabled":false}`},
		{method: http.MethodPatch, target: "/v1/webhooks/" + hook.ID, body: `{"event_types":["no.such.type"]}`},
		{method: http.MethodPatch, target: "/v1/webhooks/" + hook.ID, body: `{"enabled":`},
		{method: http.MethodPatch, target: "/v1/webhooks/" + hook.ID, body: `{"url":"` + strings.Repeat("a", bodyLimit) + `"}`},
		{method: http.MethodPatch, target: "/v1/webhooks/" + hook.ID, body: `{}`, header: http.Header{"Content-Type": {"text/plain"}}},
		{method: http.MethodPost, target: "/v1/webhooks/" + hook.ID + "/secret"},
		{method: http.MethodPost, target: "/v1/webhooks/nosuchhook/secret"},
		{method: http.MethodPost, target: "/v1/webhooks/" + strings.Repeat("x", 65) + "/secret"},
		{method: http.MethodGet, target: "/v1/webhooks/" + hook.ID + "/deliveries"},
		{method: http.MethodGet, target: "/v1/webhooks/nosuchhook/deliveries"},
		{method: http.MethodGet, target: "/v1/webhooks/" + hook.ID + "/deliveries?cursor=!!!"},
		{method: http.MethodGet, target: "/v1/webhooks/" + hook.ID + "/deliveries?limit=0"},
		{method: http.MethodDelete, target: "/v1/webhooks/" + doomed.ID},
		{method: http.MethodDelete, target: "/v1/webhooks/nosuchhook"},
		{method: http.MethodDelete, target: "/v1/webhooks/" + strings.Repeat("x", 65)},
		{method: http.MethodPost, target: "/v1/users", body: `{"email":"new@example.com"}`},
		{method: http.MethodPost, target: "/v1/users", body: `{"email":`},
		{method: http.MethodPost, target: "/v1/users", body: `{"email":"ADA@example.com"}`},
		{method: http.MethodPost, target: "/v1/users", body: `{"email":"` + strings.Repeat("a", bodyLimit) + `"}`},
		{method: http.MethodPost, target: "/v1/users", body: `{}`, header: http.Header{"Content-Type": {"text/plain"}}},
		{method: http.MethodPost, target: "/v1/users", body: `{"email":"bad"}`},
		{method: http.MethodGet, target: "/v1/users?limit=1"},
		{method: http.MethodGet, target: "/v1/users?cursor=!!!"},
		{method: http.MethodGet, target: "/v1/users?limit=0"},
		{method: http.MethodGet, target: "/v1/users/" + ada.ID},
		{method: http.MethodGet, target: "/v1/users/nosuchuser"},
		{method: http.MethodGet, target: "/v1/users/" + long},
		{method: http.MethodPatch, target: "/v1/users/" + ada.ID, body: `{"name":"Ada"}`},
		{method: http.MethodPatch, target: "/v1/users/" + ada.ID, body: `{"name":`},
		{method: http.MethodPatch, target: "/v1/users/nosuchuser", body: `{"name":"x"}`},
		{method: http.MethodPatch, target: "/v1/users/" + gone.ID, body: `{"email":"ada@example.com"}`},
		{method: http.MethodPatch, target: "/v1/users/" + ada.ID, body: `{"name":"` + strings.Repeat("a", bodyLimit) + `"}`},
		{method: http.MethodPatch, target: "/v1/users/" + ada.ID, body: `{}`, header: http.Header{"Content-Type": {"text/plain"}}},
		{method: http.MethodPatch, target: "/v1/users/" + ada.ID, body: `{"email":"bad"}`},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/password", body: `{"password":"amber lantern field 77"}`},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/password", body: `{"password":`},
		{method: http.MethodPost, target: "/v1/users/nosuchuser/password", body: `{"password":"amber lantern field 77"}`},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/password", body: `{"password":"` + strings.Repeat("a", bodyLimit) + `"}`},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/password", body: `{}`, header: http.Header{"Content-Type": {"text/plain"}}},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/password", body: `{"password":"password"}`},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/unlock"},
		{method: http.MethodPost, target: "/v1/users/nosuchuser/unlock"},
		{method: http.MethodPost, target: "/v1/users/" + long + "/unlock"},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/verification-email"},
		{method: http.MethodPost, target: "/v1/users/nosuchuser/verification-email"},
		{method: http.MethodPost, target: "/v1/users/" + verified.ID + "/verification-email"},
		{method: http.MethodPost, target: "/v1/users/" + long + "/verification-email"},
		{method: http.MethodPost, target: "/v1/users/" + ada.ID + "/password-reset-email"},
		{method: http.MethodPost, target: "/v1/users/nosuchuser/password-reset-email"},
		{method: http.MethodPost, target: "/v1/users/" + off.ID + "/password-reset-email"},
		{method: http.MethodPost, target: "/v1/users/" + long + "/password-reset-email"},
		{method: http.MethodDelete, target: "/v1/users/" + gone.ID},
		{method: http.MethodDelete, target: "/v1/users/nosuchuser"},
		{method: http.MethodDelete, target: "/v1/users/" + long},
		{method: http.MethodPost, target: "/v1/users/import", body: `{"email":"imported@example.com"}`, header: ndjson},
		{method: http.MethodPost, target: "/v1/users/import", body: `{}`, header: ndjson, unknownLength: true},
		{method: http.MethodPost, target: "/v1/users/import", body: strings.Repeat("x", importMaxBytes+1), header: ndjson},
		{method: http.MethodPost, target: "/v1/users/import", body: `{}`},
		{method: http.MethodPost, target: "/v1/users/import?x=1", body: `{}`, header: ndjson},
		{method: http.MethodGet, target: "/v1/users/" + ada.ID + "/sessions"},
		{method: http.MethodGet, target: "/v1/users/nosuchuser/sessions"},
		{method: http.MethodGet, target: "/v1/users/" + long + "/sessions"},
		{method: http.MethodDelete, target: "/v1/users/" + verified.ID + "/sessions/" + verifiedSession.ID},
		{method: http.MethodDelete, target: "/v1/users/" + ada.ID + "/sessions/nosuchsession"},
		{method: http.MethodDelete, target: "/v1/users/" + ada.ID + "/sessions/" + long},
		{method: http.MethodDelete, target: "/v1/users/" + ada.ID + "/sessions"},
		{method: http.MethodDelete, target: "/v1/users/nosuchuser/sessions"},
		{method: http.MethodDelete, target: "/v1/users/" + long + "/sessions"},
		{method: http.MethodPost, target: "/v1/clients", body: `{"name":"new","grant_types":["client_credentials"]}`},
		{method: http.MethodPost, target: "/v1/clients", body: `{"name":`},
		{method: http.MethodPost, target: "/v1/clients", body: huge},
		{method: http.MethodPost, target: "/v1/clients", body: `{}`, header: textPlain},
		{method: http.MethodPost, target: "/v1/clients", body: `{"name":"x","grant_types":["refresh_token"]}`},
		{method: http.MethodGet, target: "/v1/clients?limit=1"},
		{method: http.MethodGet, target: "/v1/clients?cursor=!!!"},
		{method: http.MethodGet, target: "/v1/clients?limit=0"},
		{method: http.MethodGet, target: "/v1/clients/" + web.ID},
		{method: http.MethodGet, target: "/v1/clients/nosuchclient"},
		{method: http.MethodGet, target: "/v1/clients/" + long},
		{method: http.MethodPatch, target: "/v1/clients/" + web.ID, body: `{"first_party":true}`},
		{method: http.MethodPatch, target: "/v1/clients/" + web.ID, body: `{"name":`},
		{method: http.MethodPatch, target: "/v1/clients/nosuchclient", body: `{"name":"x"}`},
		{method: http.MethodPatch, target: "/v1/clients/" + web.ID, body: huge},
		{method: http.MethodPatch, target: "/v1/clients/" + web.ID, body: `{}`, header: textPlain},
		{method: http.MethodPatch, target: "/v1/clients/" + web.ID, body: `{"public":true}`},
		{method: http.MethodDelete, target: "/v1/clients/" + doomedClient.ID},
		{method: http.MethodDelete, target: "/v1/clients/nosuchclient"},
		{method: http.MethodDelete, target: "/v1/clients/" + long},
		{method: http.MethodPost, target: "/v1/clients/" + web.ID + "/secret"},
		{method: http.MethodPost, target: "/v1/clients/" + spa.ID + "/secret"},
		{method: http.MethodPost, target: "/v1/clients/nosuchclient/secret"},
		{method: http.MethodPost, target: "/v1/clients/" + long + "/secret"},
		{method: http.MethodGet, target: "/v1/keys"},
		{method: http.MethodGet, target: "/v1/keys?x=1"},
		{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":"ES256"}`},
		{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":"ES256"}`},
		{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":`},
		{method: http.MethodPost, target: "/v1/keys/rotate", body: huge},
		{method: http.MethodPost, target: "/v1/keys/rotate", body: `{}`, header: textPlain},
		{method: http.MethodPost, target: "/v1/keys/rotate", body: `{"alg":"HS256"}`},
	} {
		a.do(t, req)
	}
	for _, req := range all(false) {
		req.header = anonymous
		a.do(t, req)
	}
	collect(a)

	broken := newAPI(t, storetest.SQLite(t))
	if _, err := broken.db.Exec(context.Background(), `DROP TABLE admin_tokens`); err != nil {
		t.Fatal(err)
	}
	for _, req := range all(true) {
		broken.do(t, req)
	}
	collect(broken)

	outage := false
	t.Run("postgres outage", func(t *testing.T) {
		db, p := proxiedPostgres(t)
		a := newAPI(t, db)
		p.Cut()
		for _, req := range all(false) {
			a.do(t, req)
		}
		collect(a)
		outage = true
	})

	doc, _ := loadDocument(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil {
					t.Errorf("%s %s documents a %q response; want only explicit statuses", method, path, code)
					continue
				}
				if status == http.StatusServiceUnavailable && !outage {
					t.Logf("%s %s: 503 not checked without PostgreSQL", method, path)
					continue
				}
				if !answered[op.OperationID][status] {
					t.Errorf("%s %s (%s) documents %d, but no request here got it", method, path, op.OperationID, status)
				}
			}
		}
	}
}

func TestTheClientAndSigningKeyOperationsAreDescribed(t *testing.T) {
	doc, _ := loadDocument(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Summary == "" {
				t.Errorf("%s %s has no summary", method, path)
			}
			if (strings.HasPrefix(path, "/v1/clients") || strings.HasPrefix(path, "/v1/keys")) && op.Description == "" {
				t.Errorf("%s %s has no description", method, path)
			}
		}
	}
	for _, name := range []string{"Client", "ClientWithSecretOutputBody", "CreateClientInputBody", "UpdateClientInputBody",
		"SigningKey", "RotateSigningKeyInputBody"} {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("no schema %s", name)
			continue
		}
		for prop, p := range s.Value.Properties {
			if p.Value.Description == "" {
				t.Errorf("%s.%s has no description", name, prop)
			}
		}
	}
	for _, path := range []string{"/v1/clients", "/v1/clients/{id}/secret"} {
		if d := doc.Paths.Value(path).Post.Description; !strings.Contains(d, "shown only in this response") {
			t.Errorf("POST %s does not say that the secret is shown once: %q", path, d)
		}
	}
}
