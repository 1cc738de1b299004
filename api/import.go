package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/users"
)

// ImportPath is where bulk imports are posted. Its body is far larger than any other
// request's, so the server's middleware gives it a limit of its own.
const ImportPath = "/v1/users/import"

// importTimeout is how long one import may take to upload and run; the server's read
// and write timeouts are sized for ordinary requests.
const importTimeout = time.Hour

// maxReportedRejections bounds the rejections an import response lists, so the
// response stays small whatever the file; the count covers them all.
const maxReportedRejections = 1000

// ImportResult is the outcome of a bulk import.
type ImportResult struct {
	Created  int `json:"created" doc:"Users created."`
	Skipped  int `json:"skipped" doc:"Lines whose email address already had a user, left unchanged: importing a file again creates only what is missing."`
	Rejected int `json:"rejected" doc:"Lines refused."`
	// Rejections lists the first rejected lines with every reason.
	Rejections []ImportRejection `json:"rejections" nullable:"false" doc:"The first 1000 refused lines, each with every reason."`
	Truncated  bool              `json:"rejections_truncated" doc:"More lines were refused than are listed."`
}

// ImportRejection is one refused line.
type ImportRejection struct {
	Line   int            `json:"line" doc:"1 for the first line."`
	Errors []ImportReason `json:"errors" nullable:"false"`
}

// ImportReason is why one field of a line was refused.
type ImportReason struct {
	Field  string `json:"field" example:"email"`
	Reason string `json:"reason" example:"must be a plain address such as name@example.com"`
}

// registerImport serves POST /v1/users/import: a plain handler, documented by hand,
// because it streams its body line by line instead of reading it whole as huma would.
func (h *handlers) registerImport(mux *http.ServeMux) {
	mux.HandleFunc("POST "+ImportPath, h.importUsers)
	problem := func(code int) *huma.Response {
		return &huma.Response{Description: http.StatusText(code),
			Content: map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}}
	}
	schema := h.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[ImportResult](), true, "")
	op := &huma.Operation{
		OperationID: "import-users",
		Method:      http.MethodPost,
		Path:        ImportPath,
		Summary:     "Import users from JSON Lines",
		Description: "One JSON object per line: `email` (required), `name`, `username`, `email_verified`, `metadata`, and " +
			"`password` (checked against the policy and hashed) or `password_hash` (bcrypt, Django's formats, PHC pbkdf2-sha256/512, " +
			"scrypt, argon2i/argon2id; upgraded to argon2id at the first sign-in). Lines are written in batches as they " +
			"arrive; a line whose email address has a user already is skipped, so an import can be run again. " +
			"The body must declare its length (Content-Length), at most user_import_max_bytes.",
		Tags:     []string{"Users"},
		Security: []map[string][]string{{bearerScheme: {}}},
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{
			"application/x-ndjson": {Schema: &huma.Schema{Type: "string"},
				Example: `{"email":"ada@example.com","name":"Ada Lovelace","password_hash":"pbkdf2_sha256$870000$…"}` + "\n"},
			"application/jsonl": {Schema: &huma.Schema{Type: "string"}},
		}},
		Responses: map[string]*huma.Response{"200": {Description: "What was imported and what was refused.",
			Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}}},
	}
	for _, code := range []int{http.StatusUnauthorized, http.StatusLengthRequired, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusInternalServerError,
		http.StatusServiceUnavailable} {
		op.Responses[strconv.Itoa(code)] = problem(code)
	}
	h.api.OpenAPI().AddOperation(op)
}

func (h *handlers) importUsers(w http.ResponseWriter, r *http.Request) {
	ctx, refused := h.checkToken(r.Context(), r.Header.Get("Authorization"), "import-users")
	if refused != nil {
		for k, v := range refused.headers {
			w.Header().Set(k, v)
		}
		writeAPIProblem(w, refused.status, refused.detail)
		return
	}
	for name := range r.URL.Query() {
		writeAPIProblem(w, http.StatusUnprocessableEntity, "Unknown query parameter "+strconv.Quote(name)+".")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-ndjson" && mt != "application/jsonl" {
		writeAPIProblem(w, http.StatusUnsupportedMediaType, "Send JSON Lines as application/x-ndjson or application/jsonl.")
		return
	}
	// A declared length lets an oversized import be refused before any of it is
	// written, rather than half-way through.
	switch {
	case r.ContentLength < 0:
		writeAPIProblem(w, http.StatusLengthRequired, "Send the import with a Content-Length.")
		return
	case r.ContentLength > h.d.ImportMaxBytes:
		w.Header().Set("Connection", "close")
		writeAPIProblem(w, http.StatusRequestEntityTooLarge,
			"The import is larger than user_import_max_bytes ("+strconv.FormatInt(h.d.ImportMaxBytes, 10)+" bytes); use identityd users import for larger files.")
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(importTimeout)) // not every ResponseWriter supports deadlines
	_ = rc.SetWriteDeadline(time.Now().Add(importTimeout))

	out := ImportResult{Rejections: []ImportRejection{}}
	rep, err := h.d.Users.Import(ctx, http.MaxBytesReader(w, r.Body, h.d.ImportMaxBytes), func(x users.Rejection) {
		if len(out.Rejections) == maxReportedRejections {
			out.Truncated = true
			return
		}
		reasons := make([]ImportReason, len(x.Errors))
		for i, e := range x.Errors {
			reasons[i] = ImportReason{Field: e.Field, Reason: e.Reason}
		}
		out.Rejections = append(out.Rejections, ImportRejection{Line: x.Line, Errors: reasons})
	})
	if err != nil {
		var (
			mbe *http.MaxBytesError
			p   failure
		)
		if errors.As(err, &mbe) {
			p = failure{status: http.StatusRequestEntityTooLarge, detail: "The import is longer than user_import_max_bytes."}
		} else if p = h.classify(ctx, "import-users", err); p.retryAfter != "" {
			w.Header().Set("Retry-After", p.retryAfter)
		}
		writeAPIProblem(w, p.status, p.detail+" Lines up to the failure may have been imported; importing the file again finishes the job.")
		return
	}
	out.Created, out.Skipped, out.Rejected = rep.Created, rep.Skipped, rep.Rejected
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
