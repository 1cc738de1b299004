package server

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// problem is an RFC 9457 problem details body, in the same shape as the management
// API's errors, so clients see one error format from every layer.
type problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// writeProblem answers with status and a problem body. detail is shown to the client:
// it must never carry internals.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	body, _ := json.Marshal(problem{Title: http.StatusText(status), Status: status, Detail: detail})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
