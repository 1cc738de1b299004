package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/store/storetest"
)

// fastHashing keeps server tests quick: the smallest argon2id setting identityd accepts.
var fastHashing = []string{"IDENTITYD_PASSWORD_HASH_MEMORY=7MiB", "IDENTITYD_PASSWORD_HASH_ITERATIONS=1"}

// call sends a JSON request with an admin token to h.
func call(t *testing.T, h http.Handler, method, path, token, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// createUserAndAskForVerification creates a user through the management API and asks
// for a verification link, as an admin would.
func createUserAndAskForVerification(t *testing.T, admin http.Handler, token string) {
	t.Helper()
	w := call(t, admin, http.MethodPost, "/v1/users", token, "application/json", `{"email":"ada@example.com","name":"Ada"}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("create user: %d %s", w.Code, w.Body)
	}
	var u struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &u); err != nil {
		t.Fatal(err)
	}
	if w := call(t, admin, http.MethodPost, "/v1/users/"+u.ID+"/verification-email", token, "", ""); w.Code != http.StatusAccepted {
		t.Fatalf("verification email: %d %s", w.Code, w.Body)
	}
}

func TestVerificationMailLeavesThroughTheConfiguredSMTPServer(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		smtp := mailtest.NewServer(t, mailtest.WithoutTLS())
		cfg := testConfig(t, url, append(fastHashing, "IDENTITYD_SMTP_URL="+smtp.PlaintextURL(),
			"IDENTITYD_MAIL_FROM=Example ID <id@example.com>", "IDENTITYD_PRODUCT_NAME=Example ID")...)
		s, logs := newServer(t, cfg)
		serve(t, s)
		_, admin := s.Handlers()
		createUserAndAskForVerification(t, admin, adminToken(t, url))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		m, err := smtp.Next(ctx)
		if err != nil {
			t.Fatalf("no mail: %v\n%s", err, logs)
		}
		if m.From != "id@example.com" || !strings.Contains(m.Subject, "Example ID") {
			t.Errorf("mail from %q, subject %q", m.From, m.Subject)
		}
		if _, ok := mailtest.FindLink(m.Text, cfg.Issuer+"/verify?token="); !ok {
			t.Errorf("no verification link on %s in:\n%s", cfg.Issuer, m.Text)
		}
		if strings.Contains(logs.String(), "token=") {
			t.Error("the link's token reached the log")
		}
	})
}

func TestInDevWithoutSMTPMailIsWrittenToTheLogClearlyMarked(t *testing.T) {
	url := storetest.SQLiteURL(t)
	s, logs := newServer(t, testConfig(t, url, fastHashing...))
	serve(t, s)
	_, admin := s.Handlers()
	createUserAndAskForVerification(t, admin, adminToken(t, url))
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "/verify?token=") {
		if time.Now().After(deadline) {
			t.Fatalf("the verification mail never reached the log:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "DEV MAIL") {
		t.Errorf("the mail in the log is not marked as a dev mail:\n%s", logs)
	}
}

func TestImportsMayExceedTheBodyLimitOfOtherRequests(t *testing.T) {
	url := storetest.SQLiteURL(t)
	s, _ := newServer(t, testConfig(t, url, append(fastHashing, "IDENTITYD_HTTP_BODY_LIMIT=4KiB",
		"IDENTITYD_USER_IMPORT_MAX_BYTES=1MiB")...))
	_, admin := s.Handlers()
	token := adminToken(t, url)
	var b strings.Builder
	for i := range 400 {
		fmt.Fprintf(&b, `{"email":"user%03d@example.com"}`+"\n", i)
	}
	if b.Len() <= 4<<10 {
		t.Fatalf("the import is only %d bytes", b.Len())
	}
	w := call(t, admin, http.MethodPost, "/v1/users/import", token, "application/x-ndjson", b.String())
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"created":400`) {
		t.Fatalf("import of %d bytes: %d %s", b.Len(), w.Code, w.Body)
	}
	big := `{"email":"x@example.com","name":"` + strings.Repeat("a", 5<<10) + `"}`
	if w := call(t, admin, http.MethodPost, "/v1/users", token, "application/json", big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 KiB create: %d, want 413", w.Code)
	}
	huge := strings.Repeat(`{"email":"x@example.com"}`+"\n", (1<<20)/25+1)
	if w := call(t, admin, http.MethodPost, "/v1/users/import", token, "application/x-ndjson", huge); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("an import over user_import_max_bytes: %d, want 413", w.Code)
	}
}
