package redact_test

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"

	"github.com/identityd/identityd/redact"
)

func ExampleReplaceAttr() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // only to keep this example's output fixed
			}
			return redact.ReplaceAttr(groups, a)
		},
	}))
	logger.Info("token request", "grant_type", "authorization_code", "code", "SplxlOBeZQQYbYS6WxSbIA",
		slog.Group("client", "id", "app", "secret", "s3cr3t"))
	// Output:
	// {"level":"INFO","msg":"token request","grant_type":"authorization_code","code":"[REDACTED]","client":{"id":"app","secret":"[REDACTED]"}}
}

func ExampleRequestURI() {
	u, _ := url.Parse("https://app.example/callback?code=SplxlOBeZQQYbYS6WxSbIA&state=af0ifjsldkj")
	fmt.Println(redact.RequestURI(u))
	// Output:
	// /callback?code=[REDACTED]&state=af0ifjsldkj
}

func ExampleJSON() {
	out, err := redact.JSON([]byte(`{"grant_type":"password","username":"ada","password":"hunter2"}`))
	if err != nil {
		fmt.Println("body omitted: invalid JSON")
		return
	}
	fmt.Println(string(out))
	// Output:
	// {"grant_type":"password","password":"[REDACTED]","username":"ada"}
}
