package mail_test

import (
	"strings"
	"testing"

	"github.com/identityd/identityd/mail"
)

func TestMessageValidate(t *testing.T) {
	good := mail.Message{To: "zoe@example.org", Subject: "Hello", Text: "Body", HTML: "<p>Body</p>"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good message: %v", err)
	}
	for _, ok := range []func(m *mail.Message){
		func(m *mail.Message) { m.To = "Zoë Müller <zoe@example.org>" },
		func(m *mail.Message) { m.To = `"Müller, Zoë" <zoe@example.org>` },
		func(m *mail.Message) { m.HTML = "" },
		func(m *mail.Message) { m.Subject = strings.Repeat("ü", 255) },
	} {
		m := good
		ok(&m)
		if err := m.Validate(); err != nil {
			t.Errorf("%+v: %v", m, err)
		}
	}
	for name, bad := range map[string]func(m *mail.Message){
		"empty to":             func(m *mail.Message) { m.To = "" },
		"not an address":       func(m *mail.Message) { m.To = "zoe" },
		"two recipients":       func(m *mail.Message) { m.To = "zoe@example.org, max@example.org" },
		"group":                func(m *mail.Message) { m.To = "friends: zoe@example.org, max@example.org;" },
		"crlf in to":           func(m *mail.Message) { m.To = "zoe@example.org\r\nBcc: all@example.net" },
		"lf in to":             func(m *mail.Message) { m.To = "zoe@example.org\nBcc: all@example.net" },
		"cr in to name":        func(m *mail.Message) { m.To = "Zoe\r <zoe@example.org>" },
		"nul in to":            func(m *mail.Message) { m.To = "zoe\x00@example.org" },
		"long address":         func(m *mail.Message) { m.To = strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 100) + "org" },
		"empty subject":        func(m *mail.Message) { m.Subject = " " },
		"crlf in subject":      func(m *mail.Message) { m.Subject = "Hello\r\nBcc: all@example.net" },
		"lf in subject":        func(m *mail.Message) { m.Subject = "Hello\nBcc: all@example.net" },
		"long subject":         func(m *mail.Message) { m.Subject = strings.Repeat("x", 256) },
		"invalid utf-8":        func(m *mail.Message) { m.Subject = "Hello \xff" },
		"empty text":           func(m *mail.Message) { m.Text = "\n" },
		"invalid utf-8 body":   func(m *mail.Message) { m.HTML = "<p>\xc3</p>" },
		"huge body":            func(m *mail.Message) { m.Text = strings.Repeat("x", 1<<20+1) },
		"invalid utf-8 in to":  func(m *mail.Message) { m.To = "zo\xffe@example.org" },
		"address in brackets":  func(m *mail.Message) { m.To = "<zoe@example.org" },
		"address with comment": func(m *mail.Message) { m.To = "zoe@example.org (x) (y) max@example.org" },
	} {
		m := good
		bad(&m)
		err := m.Validate()
		if err == nil {
			t.Errorf("%s: accepted %q / %q", name, m.To, m.Subject)
			continue
		}
		if strings.Contains(err.Error(), "all@example.net") || strings.Contains(err.Error(), "zoe") {
			t.Errorf("%s: error %q repeats the value", name, err)
		}
	}
}
