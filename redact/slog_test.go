package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/identityd/identityd/redact"
)

// secret is what must never reach the log.
const secret = "hunter2-0f3a9c"

// loggedSecret hides secret behind a LogValuer, which handlers resolve before redaction.
type loggedSecret struct{}

func (loggedSecret) LogValue() slog.Value { return slog.StringValue(secret) }

func TestReplaceAttrKeepsSecretsOutOfARealHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
	}{
		{"string", func(l *slog.Logger) { l.Info("login", "password", secret) }},
		{"camelCase key", func(l *slog.Logger) { l.Info("login", "clientSecret", secret) }},
		{"number", func(l *slog.Logger) { l.Info("mfa", slog.Int("totp", 123456), slog.String("note", "x")) }},
		{"bytes", func(l *slog.Logger) { l.Info("login", "refresh_token", []byte(secret)) }},
		{"LogValuer", func(l *slog.Logger) { l.Info("login", "access_token", loggedSecret{}) }},
		{"nested object under a sensitive key", func(l *slog.Logger) {
			l.Info("login", "credentials", map[string]any{"user": "a", "value": secret})
		}},
		{"inside a group", func(l *slog.Logger) {
			l.Info("login", slog.Group("request", slog.String("client_secret", secret), slog.String("client_id", "app")))
		}},
		{"a whole sensitive group", func(l *slog.Logger) {
			l.Info("login", slog.Group("password", slog.String("new", secret), slog.Int("length", 14)))
		}},
		{"groups nested in groups", func(l *slog.Logger) {
			l.Info("login", slog.Group("a", slog.Group("b", slog.String("code", secret))))
		}},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("token").Info("issued", "value", secret) }},
		{"WithAttrs", func(l *slog.Logger) { l.With("api_key", secret).Info("call") }},
		{"map under an innocent key", func(l *slog.Logger) {
			l.Info("request", "body", map[string]any{"grant_type": "password", "password": secret})
		}},
		{"headers under an innocent key", func(l *slog.Logger) {
			l.Info("request", "header", http.Header{"Authorization": {"Bearer " + secret}})
		}},
		{"raw JSON under an innocent key", func(l *slog.Logger) {
			l.Info("request", "body", json.RawMessage(`{"client_secret":"`+secret+`"}`))
		}},
		{"LogAttrs", func(l *slog.Logger) {
			l.LogAttrs(context.Background(), slog.LevelWarn, "reset", slog.Any("reset_token", secret))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: redact.ReplaceAttr}))
			tt.log(logger)
			out := buf.String()
			if strings.Contains(out, secret) {
				t.Errorf("the secret reached the log: %s", out)
			}
			if !strings.Contains(out, redact.Redacted) {
				t.Errorf("nothing was redacted: %s", out)
			}
			if !json.Valid(bytes.TrimSpace(buf.Bytes())) {
				t.Errorf("the log line is not valid JSON: %s", out)
			}
		})
	}
}

func TestReplaceAttrLeavesOtherAttributesAlone(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: redact.ReplaceAttr}))
	logger.Info("token issued", "client_id", "app", "status", 200, "scope", "openid email",
		slog.Group("http", slog.String("method", "POST")))

	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"msg": "token issued", "level": "INFO", "client_id": "app", "status": float64(200),
		"scope": "openid email", "http": map[string]any{"method": "POST"},
	}
	delete(line, "time")
	if len(line) != len(want) {
		t.Errorf("log line %v, want %v (and time)", line, want)
	}
	for k, v := range want {
		if got := line[k]; !equalJSON(got, v) {
			t.Errorf("%s = %#v, want %#v", k, got, v)
		}
	}
}

func TestReplaceAttrCalledDirectly(t *testing.T) {
	tests := []struct {
		name   string
		groups []string
		attr   slog.Attr
		want   string
	}{
		{"sensitive key", nil, slog.String("password", secret), "password=" + redact.Redacted},
		{"sensitive group around it", []string{"req", "credentials"}, slog.String("user", secret), "user=" + redact.Redacted},
		{"unresolved LogValuer", nil, slog.Any("note", loggedSecret{}), "note=" + secret},
		{"group value", nil, slog.Group("req", slog.String("token", secret), slog.Int("n", 1)),
			"req=[token=" + redact.Redacted + " n=1]"},
		{"innocent", []string{"http"}, slog.Int("status", 200), "status=200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redact.ReplaceAttr(tt.groups, tt.attr).String(); got != tt.want {
				t.Errorf("ReplaceAttr = %s, want %s", got, tt.want)
			}
		})
	}

	groups := make([]string, 1, 4)
	groups[0] = "outer"
	redact.ReplaceAttr(groups, slog.Group("inner", slog.String("a", "b")))
	if spare := groups[:2]; spare[1] != "" {
		t.Errorf("ReplaceAttr wrote into the caller's groups slice: %q", spare)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
