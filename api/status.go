package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type statusOutput struct {
	Body struct {
		Version  string `json:"version" doc:"identityd's version." example:"1.0.0"`
		Database struct {
			Backend             string `json:"backend" enum:"sqlite,postgres" doc:"The database backend."`
			SchemaVersion       int64  `json:"schema_version" doc:"The database's schema version."`
			LatestSchemaVersion int64  `json:"latest_schema_version" doc:"The newest schema version this identityd knows."`
		} `json:"database"`
	}
}

func (h *handlers) registerStatus() {
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "get-status",
		Method:      http.MethodGet,
		Path:        "/v1/status",
		Summary:     "Show version and database status",
		Tags:        []string{"Status"},
	}), func(ctx context.Context, _ *struct{}) (*statusOutput, error) {
		cur, latest, err := h.d.Migrator.Version(ctx)
		if err != nil {
			return nil, h.fail(ctx, "get-status", err)
		}
		out := &statusOutput{}
		out.Body.Version = h.d.Version
		out.Body.Database.Backend = string(h.d.DB.Dialect())
		out.Body.Database.SchemaVersion = cur
		out.Body.Database.LatestSchemaVersion = latest
		return out, nil
	})
}
