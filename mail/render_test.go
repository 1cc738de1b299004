package mail_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/mail/mailtest"
)

func newRenderer(t *testing.T) *mail.Renderer {
	t.Helper()
	r, err := mail.NewRenderer("Acme ID")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const testLink = "https://id.example.com/verify?token=Zx9_abc-DEF&flow=1"

// lines returns text's lines, trimmed.
func lines(text string) []string {
	var out []string
	for l := range strings.Lines(text) {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// visible returns the text of an HTML body, tags dropped and spaces collapsed.
func visible(html string) string {
	return strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(html, "")), " ")
}

// checkCommon checks what every rendered message must have.
func checkCommon(t *testing.T, m mail.Message, to, link string) {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Errorf("rendered message does not validate: %v", err)
	}
	if m.To != to {
		t.Errorf("To %q, want %q", m.To, to)
	}
	if !strings.Contains(m.Subject, "Acme ID") {
		t.Errorf("subject %q does not name the product", m.Subject)
	}
	if link != "" {
		if !slices.Contains(lines(m.Text), link) {
			t.Errorf("text does not have the link on a line of its own:\n%s", m.Text)
		}
		if got, ok := mailtest.FindLink(m.Text, "https://id.example.com/"); !ok || got != link {
			t.Errorf("FindLink found %q, %v", got, ok)
		}
		escaped := strings.ReplaceAll(link, "&", "&amp;")
		if n := strings.Count(m.HTML, `href="`+escaped+`"`); n != 2 {
			t.Errorf("HTML links to %s %d times, want a button and a fallback", link, n)
		}
		if !strings.Contains(m.HTML, ">"+escaped+"</a>") {
			t.Error("HTML does not show the link as text")
		}
	}
	if hrefs := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(m.HTML, -1); link == "" && len(hrefs) != 0 {
		t.Errorf("HTML has links %v but was given none", hrefs)
	}
	// Plain and self-contained: nothing fetched from elsewhere, nothing that runs.
	for _, banned := range []string{"<img", "src=", "<link", "@import", "url(", "<script", "<style", "class="} {
		if strings.Contains(strings.ToLower(m.HTML), banned) {
			t.Errorf("HTML contains %q", banned)
		}
	}
	for _, want := range []string{`<html lang="en">`, `<meta charset="utf-8">`, "<title>" + strings.ReplaceAll(m.Subject, "&", "&amp;") + "</title>", `role="presentation"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(m.Text, "<") && !strings.Contains(m.Text, "<script>") {
		t.Errorf("text body has markup:\n%s", m.Text)
	}
}

func TestVerification(t *testing.T) {
	r := newRenderer(t)
	m, err := r.Verification("zoe@example.org", "Zoë", testLink, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkCommon(t, m, "zoe@example.org", testLink)
	if m.Subject != "Confirm your email address for Acme ID" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Hello Zoë,", "valid for 24 hours", "If you did not sign up for Acme ID"} {
		if !strings.Contains(m.Text, want) || !strings.Contains(visible(m.HTML), want) {
			t.Errorf("text or HTML lacks %q:\n%s\n%s", want, m.Text, m.HTML)
		}
	}
}

func TestAlreadyRegistered(t *testing.T) {
	r := newRenderer(t)
	m, err := r.AlreadyRegistered("zoe@example.org", "Zoë", testLink)
	if err != nil {
		t.Fatal(err)
	}
	checkCommon(t, m, "zoe@example.org", testLink)
	if m.Subject != "You already have an account with Acme ID" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, want := range []string{"Hello Zoë,", "you already have one", "nothing about your account has changed"} {
		if !strings.Contains(strings.Join(strings.Fields(m.Text), " "), want) || !strings.Contains(visible(m.HTML), want) {
			t.Errorf("text or HTML lacks %q:\n%s", want, m.Text)
		}
	}
	if _, err := r.AlreadyRegistered("zoe@example.org", "", "javascript:alert(1)"); err == nil {
		t.Error("a non-http link was accepted")
	}
}

func TestPasswordReset(t *testing.T) {
	r := newRenderer(t)
	m, err := r.PasswordReset("Zoë <zoe@example.org>", "", testLink, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkCommon(t, m, "Zoë <zoe@example.org>", testLink)
	if m.Subject != "Reset your Acme ID password" {
		t.Errorf("subject %q", m.Subject)
	}
	if lines(m.Text)[0] != "Hello," || !strings.Contains(m.HTML, "<p style=\"margin:0 0 16px 0;\">Hello,</p>") {
		t.Errorf("a message without a name does not greet neutrally:\n%s", m.Text)
	}
	for _, want := range []string{"valid for 1 hour and works once", "your password stays as it is"} {
		if !strings.Contains(strings.Join(strings.Fields(m.Text), " "), want) || !strings.Contains(visible(m.HTML), want) {
			t.Errorf("text or HTML lacks %q", want)
		}
	}
}

func TestLockout(t *testing.T) {
	r := newRenderer(t)
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))
	m, err := r.Lockout("zoe@example.org", "Zoë", 5, at, "::ffff:192.0.2.7", testLink, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkCommon(t, m, "zoe@example.org", testLink)
	if m.Subject != "Your Acme ID account was locked" {
		t.Errorf("subject %q", m.Subject)
	}
	text := strings.Join(strings.Fields(m.Text), " ")
	for _, want := range []string{
		"locked after 5 failed sign-in attempts, the last on 14 March 2026 at 08:26 UTC from IP address 192.0.2.7.",
		"If this was you, reset your password", "also unlocks your account",
		"valid for 30 minutes",
		"If this was not you, someone may be trying to guess your password",
		"You do not need to do anything: the lock protects your account",
		"contact your administrator",
	} {
		if !strings.Contains(text, want) || !strings.Contains(visible(m.HTML), want) {
			t.Errorf("text or HTML lacks %q:\n%s", want, m.Text)
		}
	}

	without, err := r.Lockout("zoe@example.org", "", 1, at, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	checkCommon(t, without, "zoe@example.org", "")
	text = strings.Join(strings.Fields(without.Text), " ")
	for _, want := range []string{"after 1 failed sign-in attempt,", "from an unknown IP address", "If this was not you"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, without.Text)
		}
	}
	for _, unwanted := range []string{"If this was you", "reset your password", "valid for", "http"} {
		if strings.Contains(without.Text, unwanted) || strings.Contains(without.HTML, unwanted) {
			t.Errorf("without a reset link, the message still says %q", unwanted)
		}
	}
}

func TestHostileNamesAreEscapedAndKeptOnTheirLine(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct{ name, text, html string }{
		{`<script>alert("x")</script>`, `Hello <script>alert("x")</script>,`, `Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;,`},
		{`Zoë & "Max" <b>`, `Hello Zoë & "Max" <b>,`, `Hello Zoë &amp; &#34;Max&#34; &lt;b&gt;,`},
		{"Bob\r\n\r\nYour account is suspended, log in at https://evil.example\r\n", "Hello Bob Your account is suspended, log in at https://evil.example,", ""},
		{"Eve\u202egnp.exe", "Hello Eve gnp.exe,", ""},
		{strings.Repeat("A", 200), "Hello " + strings.Repeat("A", 63) + "…,", ""},
	} {
		m, err := r.Verification("zoe@example.org", tc.name, testLink, time.Hour)
		if err != nil {
			t.Fatalf("%q: %v", tc.name, err)
		}
		if first := lines(m.Text)[0]; first != tc.text {
			t.Errorf("name %q greets as %q, want %q", tc.name, first, tc.text)
		}
		if tc.html != "" && !strings.Contains(m.HTML, tc.html) {
			t.Errorf("name %q is not escaped in HTML as %q:\n%s", tc.name, tc.html, m.HTML)
		}
		if strings.Contains(m.HTML, "<script") || strings.Contains(m.HTML, "<b>") {
			t.Errorf("name %q put markup into the HTML", tc.name)
		}
	}
}

func TestValidityIsWordedForPeople(t *testing.T) {
	r := newRenderer(t)
	for d, want := range map[time.Duration]string{
		30 * time.Minute:                "30 minutes",
		time.Minute:                     "1 minute",
		time.Hour:                       "1 hour",
		24 * time.Hour:                  "24 hours",
		90 * time.Minute:                "90 minutes",
		72 * time.Hour:                  "3 days",
		59*time.Minute + 59*time.Second: "59 minutes", // rounded down: never promise more
		45 * time.Second:                "45 seconds",
	} {
		m, err := r.PasswordReset("zoe@example.org", "", testLink, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.Text, "valid for "+want+" and") {
			t.Errorf("%v is worded %q, want %q", d, m.Text, want)
		}
	}
}

func TestRendererRefusesBadInput(t *testing.T) {
	r := newRenderer(t)
	for name, link := range map[string]string{
		"javascript": "javascript:alert(1)",
		"relative":   "/verify?token=x",
		"no host":    "https:///verify",
		"newline":    "https://id.example.com/v?token=x\nClick https://evil.example",
		"space":      "https://id.example.com/v?token=x y",
		"empty":      "",
	} {
		if _, err := r.Verification("zoe@example.org", "", link, time.Hour); err == nil {
			t.Errorf("Verification accepted link %s", name)
		} else if link != "" && strings.Contains(err.Error(), link) {
			t.Errorf("error %q repeats the link", err)
		}
		if _, err := r.PasswordReset("zoe@example.org", "", link, time.Hour); err == nil {
			t.Errorf("PasswordReset accepted link %s", name)
		}
	}
	if _, err := r.Verification("zoe@example.org", "", testLink, 0); err == nil {
		t.Error("Verification accepted a zero validity")
	}
	if _, err := r.Verification("zoe@example.org\r\nBcc: x@example.net", "", testLink, time.Hour); err == nil {
		t.Error("Verification accepted a recipient with a line break")
	}
	at := time.Now()
	for name, call := range map[string]func() error{
		"zero attempts": func() error { _, err := r.Lockout("zoe@example.org", "", 0, at, "", "", 0); return err },
		"zero time":     func() error { _, err := r.Lockout("zoe@example.org", "", 3, time.Time{}, "", "", 0); return err },
		"bad ip":        func() error { _, err := r.Lockout("zoe@example.org", "", 3, at, "192.0.2.x", "", 0); return err },
		"bad link":      func() error { _, err := r.Lockout("zoe@example.org", "", 3, at, "", "ftp://x", time.Hour); return err },
		"no validity":   func() error { _, err := r.Lockout("zoe@example.org", "", 3, at, "", testLink, 0); return err },
	} {
		if call() == nil {
			t.Errorf("Lockout accepted %s", name)
		}
	}
	for _, product := range []string{"", " ", "Acme\r\nBcc: x", strings.Repeat("x", 65)} {
		if _, err := mail.NewRenderer(product); err == nil {
			t.Errorf("NewRenderer accepted %q", product)
		}
	}
}
