package redact_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/identityd/identityd/redact"
)

func TestQuery(t *testing.T) {
	in := url.Values{
		"code":          {"SplxlOBeZQQYbYS6WxSbIA"},
		"state":         {"af0ifjsldkj"},
		"client_secret": {"s3cr3t", "again"},
		"redirect_uri":  {"https://app.example/cb"},
		"empty":         {},
	}
	want := url.Values{
		"code":          {redact.Redacted},
		"state":         {"af0ifjsldkj"},
		"client_secret": {redact.Redacted, redact.Redacted},
		"redirect_uri":  {"https://app.example/cb"},
		"empty":         {},
	}
	got := redact.Query(in)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Query = %v, want %v", got, want)
	}
	if in.Get("code") != "SplxlOBeZQQYbYS6WxSbIA" || in["client_secret"][1] != "again" {
		t.Errorf("Query modified its input: %v", in)
	}
	got["state"][0] = "changed"
	if in.Get("state") != "af0ifjsldkj" {
		t.Error("Query's result shares value slices with its input")
	}
	if redact.Query(nil) != nil {
		t.Error("Query(nil) is not nil")
	}
}

func TestRequestURI(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"authorization response",
			"https://app.example/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj",
			"/cb?code=[REDACTED]&state=af0ifjsldkj"},
		{"order and encoding of other parameters kept",
			"/oauth2/auth?scope=openid%20email&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_id=app",
			"/oauth2/auth?scope=openid%20email&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&client_id=app"},
		{"repeated sensitive parameter",
			"/x?token=a&id=1&token=b",
			"/x?token=[REDACTED]&id=1&token=[REDACTED]"},
		{"escaped name is decoded before deciding",
			"/x?pass%77ord=hunter2&client%5Fsecret=s",
			"/x?pass%77ord=[REDACTED]&client%5Fsecret=[REDACTED]"},
		{"semicolon separates too",
			"/x?a=1;access_token=abc&b=2",
			"/x?a=1;access_token=[REDACTED]&b=2"},
		{"undecodable name is redacted",
			"/x?%zz=hunter2&ok=1",
			"/x?%zz=[REDACTED]&ok=1"},
		{"value containing = is redacted whole",
			"/x?id_token=eyJ.x.y==&n=1",
			"/x?id_token=[REDACTED]&n=1"},
		{"name without value", "/x?code&flag", "/x?code&flag"},
		{"empty pairs kept", "/x?&&code=1&", "/x?&&code=[REDACTED]&"},
		{"no query", "/healthz", "/healthz"},
		{"empty path", "https://id.example", "/"},
		{"escaped path kept", "/users/a%2Fb?password=x", "/users/a%2Fb?password=[REDACTED]"},
		{"fragment and user information dropped",
			"https://user:pw@id.example/cb?state=s#access_token=abc",
			"/cb?state=s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			before := *u
			if got := redact.RequestURI(u); got != tt.want {
				t.Errorf("RequestURI(%s) = %s, want %s", tt.url, got, tt.want)
			}
			if *u != before {
				t.Error("RequestURI modified its input")
			}
		})
	}
	if got := redact.RequestURI(nil); got != "" {
		t.Errorf("RequestURI(nil) = %q, want empty", got)
	}
}

func TestHeader(t *testing.T) {
	in := http.Header{
		"Authorization":       {"Bearer eyJhbGciOi.secret"},
		"Proxy-Authorization": {"Basic dXNlcjpwYXNz"},
		"Cookie":              {"identityd_session=abc"},
		"Set-Cookie":          {"a=1", "b=2"},
		"X-Api-Key":           {"k-123"},
		"X-Csrf-Token":        {"t-123"},
		"Content-Type":        {"application/json"},
		"X-Request-Id":        {"req-1"},
	}
	in["cookie"] = []string{"lowercase=set-directly"} // not canonical, still a cookie
	snapshot := in.Clone()

	got := redact.Header(in)
	want := http.Header{
		"Authorization":       {redact.Redacted},
		"Proxy-Authorization": {redact.Redacted},
		"Cookie":              {redact.Redacted},
		"cookie":              {redact.Redacted},
		"Set-Cookie":          {redact.Redacted, redact.Redacted},
		"X-Api-Key":           {redact.Redacted},
		"X-Csrf-Token":        {redact.Redacted},
		"Content-Type":        {"application/json"},
		"X-Request-Id":        {"req-1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Header = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(in, snapshot) {
		t.Errorf("Header modified its input: %v", in)
	}
	got["Content-Type"][0] = "changed"
	if in.Get("Content-Type") != "application/json" {
		t.Error("Header's result shares value slices with its input")
	}
	for name, values := range got {
		for _, v := range values {
			if strings.Contains(v, "secret") || strings.Contains(v, "abc") {
				t.Errorf("%s still shows %q", name, v)
			}
		}
	}
	if redact.Header(nil) != nil {
		t.Error("Header(nil) is not nil")
	}
}

// FuzzRequestURI feeds RequestURI arbitrary raw queries: it never panics, keeps every
// parameter, and leaves no value under a name that is sensitive or cannot be decoded.
func FuzzRequestURI(f *testing.F) {
	for _, seed := range []string{
		"code=abc&state=xyz", "a=1;token=t", "%zz=1", "pass%77ord=p&&x", "=v&k=", "id_token=a=b",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		u := &url.URL{Path: "/p", RawQuery: rawQuery}
		got := redact.RequestURI(u)
		query, ok := strings.CutPrefix(got, "/p?")
		if !ok {
			if rawQuery == "" && got == "/p" {
				return
			}
			t.Fatalf("RequestURI = %q, want /p?<query>", got)
		}
		split := func(r rune) bool { return r == '&' || r == ';' }
		in, out := strings.FieldsFunc(rawQuery, split), strings.FieldsFunc(query, split)
		if len(in) != len(out) {
			t.Fatalf("RequestURI(%q) = %q: %d parameters in, %d out", rawQuery, got, len(in), len(out))
		}
		for i, param := range out {
			rawName, value, hasValue := strings.Cut(param, "=")
			if !hasValue {
				continue
			}
			name, err := url.QueryUnescape(rawName)
			if (err != nil || redact.IsSensitive(name)) && value != redact.Redacted {
				t.Errorf("parameter %q came out as %q", in[i], param)
			}
			if err == nil && !redact.IsSensitive(name) && param != in[i] {
				t.Errorf("harmless parameter %q came out as %q", in[i], param)
			}
		}
	})
}
