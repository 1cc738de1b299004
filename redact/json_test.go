package redact_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/identityd/identityd/redact"
)

func TestJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"token response",
			`{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"openid"}`,
			`{"access_token":"[REDACTED]","expires_in":3600,"scope":"openid","token_type":"[REDACTED]"}`},
		{"nested objects",
			`{"user":{"email":"a@example.com","credentials":{"password":"p"}},"mfa":{"totp":123456}}`,
			`{"mfa":{"totp":"[REDACTED]"},"user":{"credentials":"[REDACTED]","email":"a@example.com"}}`},
		{"objects inside arrays",
			`{"factors":[{"type":"totp","secret":"JBSW"},{"type":"webauthn","id":"c1"}],"n":[1,2]}`,
			`{"factors":[{"secret":"[REDACTED]","type":"totp"},{"id":"c1","type":"webauthn"}],"n":[1,2]}`},
		{"any value under a sensitive key",
			`{"password":null,"pin":1234,"otp":true,"secret":[1,2],"token":{"a":1}}`,
			`{"otp":"[REDACTED]","password":"[REDACTED]","pin":"[REDACTED]","secret":"[REDACTED]","token":"[REDACTED]"}`},
		{"escaped key", `{"pass\u0077ord":"hunter2"}`, `{"password":"[REDACTED]"}`},
		{"array at the top", `[{"client_secret":"s"},"x",1]`, `[{"client_secret":"[REDACTED]"},"x",1]`},
		{"string at the top", `"password"`, `"password"`},
		{"number at the top keeps its text", `12345678901234567890.000`, `12345678901234567890.000`},
		{"null at the top", `null`, `null`},
		{"empty object", `{}`, `{}`},
		{"whitespace around", " \n{\"a\": 1}\n ", `{"a":1}`},
		{"HTML characters stay readable", `{"next":"/a?b=1&c=<d>"}`, `{"next":"/a?b=1&c=<d>"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := redact.JSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("JSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestJSONRejectsInvalidInput(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `{"password":"hunter2"`, `{"password":hunter2}`, `{"a":1}{"b":2}`,
		`{"a":1} x`, `[1,]`, `{'a':1}`, `NaN`, strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	} {
		got, err := redact.JSON([]byte(in))
		if err == nil {
			t.Errorf("JSON(%.40q) = %s, want an error", in, got)
			continue
		}
		if got != nil {
			t.Errorf("JSON(%.40q) returned output alongside an error", in)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("JSON(%.40q) error %q repeats the input", in, err)
		}
	}
}

func TestMap(t *testing.T) {
	in := map[string]any{
		"user_id": "u1",
		"details": map[string]any{
			"new_password": "hunter2",
			"changed":      []any{"password", map[string]any{"otp": 123456, "device": "phone"}},
		},
		"headers":      http.Header{"Authorization": {"Bearer x"}, "Accept": {"*/*"}},
		"query":        url.Values{"code": {"c"}, "state": {"s"}},
		"labels":       map[string]string{"api_key": "k", "team": "id"},
		"clientSecret": map[string]any{"anything": "at all"},
		"raw":          json.RawMessage(`{"refresh_token":"rt","n":1}`),
		"list":         []string{"a", "b"},
		"nothing":      nil,
	}
	want := map[string]any{
		"user_id": "u1",
		"details": map[string]any{
			"new_password": redact.Redacted,
			"changed":      []any{"password", map[string]any{"otp": redact.Redacted, "device": "phone"}},
		},
		"headers":      map[string]any{"Authorization": redact.Redacted, "Accept": []any{"*/*"}},
		"query":        map[string]any{"code": redact.Redacted, "state": []any{"s"}},
		"labels":       map[string]any{"api_key": redact.Redacted, "team": "id"},
		"clientSecret": redact.Redacted,
		"raw":          json.RawMessage(`{"n":1,"refresh_token":"[REDACTED]"}`),
		"list":         []any{"a", "b"},
		"nothing":      nil,
	}
	got := redact.Map(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map =\n%#v\nwant\n%#v", got, want)
	}
	if in["details"].(map[string]any)["new_password"] != "hunter2" {
		t.Error("Map modified its input")
	}

	t.Run("result shares nothing with the input", func(t *testing.T) {
		in := map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": 1}}}, "s": []any{1}}
		got := redact.Map(in)
		got["a"].(map[string]any)["b"].([]any)[0].(map[string]any)["c"] = 2
		got["s"].([]any)[0] = 2
		got["new"] = true
		want := map[string]any{"a": map[string]any{"b": []any{map[string]any{"c": 1}}}, "s": []any{1}}
		if !reflect.DeepEqual(in, want) {
			t.Errorf("changing Map's result changed its input: %v", in)
		}
	})

	t.Run("nil and empty", func(t *testing.T) {
		if redact.Map(nil) != nil {
			t.Error("Map(nil) is not nil")
		}
		if got := redact.Map(map[string]any{}); got == nil || len(got) != 0 {
			t.Errorf("Map of an empty map = %#v, want an empty map", got)
		}
	})

	t.Run("a value that contains itself ends", func(t *testing.T) {
		loop := map[string]any{"name": "loop"}
		loop["self"] = loop
		loop["again"] = loop
		list := []any{"x", nil}
		list[1] = list
		got := redact.Map(map[string]any{"loop": loop, "list": list})
		want := map[string]any{
			"loop": map[string]any{"name": "loop", "self": redact.Redacted, "again": redact.Redacted},
			"list": []any{"x", redact.Redacted},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Map = %#v, want %#v", got, want)
		}
	})

	t.Run("a value seen twice but not inside itself is copied twice", func(t *testing.T) {
		shared := map[string]any{"v": 1}
		got := redact.Map(map[string]any{"a": shared, "b": shared})
		want := map[string]any{"a": map[string]any{"v": 1}, "b": map[string]any{"v": 1}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Map = %#v, want %#v", got, want)
		}
	})
}

// FuzzJSON checks JSON on arbitrary input: it never panics, accepts exactly the valid
// documents, produces valid JSON for them, and leaves no value under a sensitive key.
func FuzzJSON(f *testing.F) {
	for _, seed := range []string{
		`{"password":"p","a":[{"token":1},{"b":{"code":null}}]}`,
		`[1,"x",true,null,{"pass\u0077ord":"p"}]`,
		`{"a":1e400,"b":-0.0,"c":"\ud800"}`,
		`"\u00e9"`, `{}`, `[]`, ``, `{`, `{"a":1}{"b":2}`, "{\"\xff\":1}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := redact.JSON(in)
		if !json.Valid(in) {
			if err == nil {
				t.Fatalf("JSON accepted invalid input %q, giving %q", in, out)
			}
			return
		}
		if err != nil {
			t.Fatalf("JSON rejected valid input %q: %v", in, err)
		}
		if !json.Valid(out) {
			t.Fatalf("JSON(%q) = %q, which is not valid JSON", in, out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber() // 1e400 is valid JSON but no float64
		var doc any
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		assertRedacted(t, doc)
	})
}

// assertRedacted fails if any sensitive key in a decoded document holds anything but
// Redacted.
func assertRedacted(t *testing.T, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if redact.IsSensitive(k) && child != redact.Redacted {
				t.Fatalf("sensitive key %q holds %#v", k, child)
			}
			assertRedacted(t, child)
		}
	case []any:
		for _, child := range v {
			assertRedacted(t, child)
		}
	}
}
