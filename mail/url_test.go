package mail_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/identityd/identityd/mail"
)

func TestParseURLAcceptsTheThreeForms(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want mail.SMTPURL
	}{
		{"smtp://mail.example.com", mail.SMTPURL{Host: "mail.example.com", Port: 587}},
		{"smtp://mail.example.com/", mail.SMTPURL{Host: "mail.example.com", Port: 587}},
		{"smtp://user:pa%40ss%2Fw%3Ford@mail.example.com:2525",
			mail.SMTPURL{Host: "mail.example.com", Port: 2525, Username: "user", Password: "pa@ss/w?ord"}},
		{"smtp://apikey%40example.com:secret@smtp.example.net",
			mail.SMTPURL{Host: "smtp.example.net", Port: 587, Username: "apikey@example.com", Password: "secret"}},
		{"smtps://u:p@mail.example.com", mail.SMTPURL{Host: "mail.example.com", Port: 465, Username: "u", Password: "p", ImplicitTLS: true}},
		{"smtps://mail.example.com:1465", mail.SMTPURL{Host: "mail.example.com", Port: 1465, ImplicitTLS: true}},
		{"smtp://[::1]:25", mail.SMTPURL{Host: "::1", Port: 25}},
		{"smtp://192.0.2.1", mail.SMTPURL{Host: "192.0.2.1", Port: 587}},
		{"smtp://xn--mil-cla.example.com:25", mail.SMTPURL{Host: "xn--mil-cla.example.com", Port: 25}},
		// Go's URL parser splits at the last "@", so one in a password survives unencoded.
		{"smtp://u:p@ss@mail.example.com", mail.SMTPURL{Host: "mail.example.com", Port: 587, Username: "u", Password: "p@ss"}},
		{"smtp://127.0.0.1:1025/?tls=none", mail.SMTPURL{Host: "127.0.0.1", Port: 1025, Plaintext: true}},
		{"smtp://mailpit:1025?tls=none", mail.SMTPURL{Host: "mailpit", Port: 1025, Plaintext: true}},
	} {
		got, err := mail.ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) = %#v, want %#v (passwords %q, %q)", tc.raw, got, tc.want, got.Password, tc.want.Password)
		}
	}
}

func TestParseURLRefusesWithoutRepeatingThePassword(t *testing.T) {
	const pw = "s3cret" // every URL below that has a password has this in it
	for _, tc := range []struct {
		raw, want string // want: a part of the error message
	}{
		{"http://u:s3cret@mail.example.com", "smtp:// or smtps://"},
		{"mail.example.com:587", "smtp:// or smtps://"},
		{"u:s3cret@mail.example.com", "smtp:// or smtps://"},
		{"smtp:mail.example.com", "no host"},
		{"smtp://", "no host"},
		{"smtp://u:s3cret@:587", "no host"},
		{"smtp://mail.example.com:0", "between 1 and 65535"},
		{"smtp://mail.example.com:65536", "between 1 and 65535"},
		{"smtp://u:s3cret@mail.example.com:abc", "valid URL"},
		{"smtp://mail.example.com/path", "path"},
		{"smtp://mail.example.com#top", "fragment"},
		{"smtp://mail.example.com?foo=bar", `unknown parameter "foo"`},
		{"smtp://mail.example.com:25?tls=starttls", "tls=none"},
		{"smtp://mail.example.com:25?tls=none&tls=none", "tls=none"},
		{"smtp://mail.example.com:25?tls=%zz", "malformed query"},
		{"smtps://mail.example.com:25?tls=none", "smtps:// and tls=none"},
		{"smtp://mail.example.com/?tls=none", "explicit port"},
		{"smtp://u:s3cret@localhost:1025/?tls=none", "must not have credentials"},
		{"smtp://u@mail.example.com", "no password"},
		{"smtp://u:@mail.example.com", "no password"},
		{"smtp://:s3cret@mail.example.com", "no user name"},
		{"smtp://u:s3cret%zz@mail.example.com", "valid URL"},
		{"smtp://u:s3cret%00@mail.example.com", "control character"},
		{"smtp://u:s3cret\x00@mail.example.com", "valid URL"},
		// Unencoded delimiters in the password move the rest of it behind the host.
		{"smtp://u:s3cret/x@mail.example.com", "valid URL"},
		{"smtp://u:1234/s3cret@mail.example.com", "valid URL"},
		{"smtp://u:1234?s3cret@mail.example.com", "valid URL"},
		{"smtp://u:1234?tls=s3cret@mail.example.com", "valid URL"},
		{"smtp://u:1234#s3cret@mail.example.com", "valid URL"},
		{"smtp://0:0:", "neither a DNS name nor an IP address"},
		{"smtp://[mail.example.com]:25", "valid URL"},
		{"smtp://[fe80::1%25eth0]:25", "neither a DNS name nor an IP address"},
		{"smtp://mäil.example.com", "neither a DNS name nor an IP address"},
		{"smtp://mail..example.com", "neither a DNS name nor an IP address"},
		{"smtp://-mail.example.com", "neither a DNS name nor an IP address"},
	} {
		_, err := mail.ParseURL(tc.raw)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", tc.raw)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q): %q, want it to say %q", tc.raw, err, tc.want)
		}
		for _, piece := range []string{pw, "3cr", "cret"} {
			if strings.Contains(err.Error(), piece) {
				t.Errorf("ParseURL(%q): %q repeats the password", tc.raw, err)
			}
		}
	}
}

func TestSMTPURLNeverPrintsThePassword(t *testing.T) {
	u, err := mail.ParseURL("smtps://alice:s3cret%20pw@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if u.Password != "s3cret pw" {
		t.Fatalf("password %q", u.Password)
	}
	if got, want := u.String(), "smtps://alice:xxxxx@mail.example.com:465"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "smtp", u)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "smtp", u)
	asJSON, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(u), fmt.Sprintf("%v %+v %#v %s", u, u, u, u), fmt.Sprintf("%+v", &u),
		logged.String(), string(asJSON)} {
		if strings.Contains(out, "s3cret") {
			t.Errorf("output shows the password: %s", out)
		}
	}
	plain, err := mail.ParseURL("smtp://localhost:1025/?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plain.String(), "smtp://localhost:1025/?tls=none"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if again, err := mail.ParseURL(plain.String()); err != nil || again != plain {
		t.Errorf("String() does not parse back: %#v, %v", again, err)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"smtp://u:p@h:25", "smtps://h", "smtp://h:1/?tls=none", "smtp://u:p%2F@h?x#y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := mail.ParseURL(raw)
		if err != nil {
			if len(u.Password) > 0 {
				t.Errorf("ParseURL(%q) failed but returned a password", raw)
			}
			return
		}
		if u.Host == "" || u.Port < 1 || u.Port > 65535 || (u.Plaintext && (u.ImplicitTLS || u.Username != "")) ||
			(u.Username == "") != (u.Password == "") {
			t.Errorf("ParseURL(%q) = %#v, %q: inconsistent", raw, u, u.Password)
		}
		// String parses back to the same URL, with the password hidden.
		again, err := mail.ParseURL(u.String())
		want := u
		if want.Password != "" {
			want.Password = "xxxxx"
		}
		if err != nil || again != want {
			t.Errorf("ParseURL(%q).String() = %q parses as %#v, %v; want %#v", raw, u.String(), again, err, want)
		}
	})
}
