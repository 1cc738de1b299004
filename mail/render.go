package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/netip"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates
var templates embed.FS

// The messages the Renderer makes; each has templates/<kind>.txt and .html.
const (
	kindVerification  = "verification"
	kindPasswordReset = "password_reset"
	kindLockout       = "lockout"
	kindAlreadyExists = "already_registered"
)

// Renderer renders identityd's messages, each as plain text and as HTML, from embedded
// templates. HTML goes through html/template, so every value is escaped for where it
// appears. The HTML is deliberately plain: inline styles, no images, fonts or anything
// else fetched from elsewhere, and every link also written out as text. It is safe for
// concurrent use.
type Renderer struct {
	product string
	text    map[string]*texttemplate.Template
	html    map[string]*htmltemplate.Template
}

// maxProductRunes bounds the product name, which appears in every subject.
const maxProductRunes = 64

// NewRenderer parses the templates. productName ("identityd", or the operator's name
// for it) names the service in subjects and bodies.
func NewRenderer(productName string) (*Renderer, error) {
	switch {
	case strings.TrimSpace(productName) == "":
		return nil, errors.New("mail: renderer: product name is empty")
	case !utf8.ValidString(productName) || strings.ContainsFunc(productName, isControl):
		return nil, errors.New("mail: renderer: product name contains a control character or invalid UTF-8")
	case utf8.RuneCountInString(productName) > maxProductRunes:
		return nil, fmt.Errorf("mail: renderer: product name is longer than %d characters", maxProductRunes)
	}
	r := &Renderer{product: productName, text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, kind := range []string{kindVerification, kindPasswordReset, kindLockout, kindAlreadyExists} {
		t, err := texttemplate.New(kind+".txt").Option("missingkey=error").ParseFS(templates, "templates/"+kind+".txt")
		if err != nil {
			return nil, fmt.Errorf("mail: renderer: %w", err)
		}
		h, err := htmltemplate.New("layout.html").Option("missingkey=error").
			ParseFS(templates, "templates/layout.html", "templates/"+kind+".html")
		if err != nil {
			return nil, fmt.Errorf("mail: renderer: %w", err)
		}
		r.text[kind], r.html[kind] = t, h
	}
	return r, nil
}

// view is what the templates see.
type view struct {
	Product  string
	Subject  string
	Name     string // cleaned; empty greets neutrally
	Link     string
	ValidFor string // "1 hour"
	Attempts string // "5 failed sign-in attempts"
	At       string // "2 January 2006 at 15:04 UTC"
	IP       string // empty when unknown
}

// Verification renders the message that asks to to confirm their address by opening
// link, valid for validFor. name, when not empty, is used in the greeting.
func (r *Renderer) Verification(to, name, link string, validFor time.Duration) (Message, error) {
	if err := checkLink(link, validFor); err != nil {
		return Message{}, fmt.Errorf("mail: render verification: %w", err)
	}
	return r.render(kindVerification, to, "Confirm your email address for "+r.product,
		view{Name: cleanName(name), Link: link, ValidFor: humanDuration(validFor)})
}

// PasswordReset renders the message that offers a new password through link, valid for
// validFor.
func (r *Renderer) PasswordReset(to, name, link string, validFor time.Duration) (Message, error) {
	if err := checkLink(link, validFor); err != nil {
		return Message{}, fmt.Errorf("mail: render password reset: %w", err)
	}
	return r.render(kindPasswordReset, to, "Reset your "+r.product+" password",
		view{Name: cleanName(name), Link: link, ValidFor: humanDuration(validFor)})
}

// AlreadyRegistered renders the answer to a registration with an address that has an
// account already: the owner learns of it, with a link to sign in, and whoever tried
// learns nothing (the page they see is the one every registration gets).
func (r *Renderer) AlreadyRegistered(to, name, signInLink string) (Message, error) {
	if err := checkLink(signInLink, time.Second); err != nil {
		return Message{}, fmt.Errorf("mail: render already registered: %w", err)
	}
	return r.render(kindAlreadyExists, to, "You already have an account with "+r.product,
		view{Name: cleanName(name), Link: signInLink})
}

// Lockout renders the notice that an account was locked after attempts failed sign-in
// attempts, the last at at from ip (empty when unknown). It says what to do either way:
// if it was the user, reset the password through resetLink, which also unlocks; if not,
// nothing, since the lock protects them, and whom to ask. An empty resetLink leaves the
// reset paragraph out.
func (r *Renderer) Lockout(to, name string, attempts int, at time.Time, ip string, resetLink string, validFor time.Duration) (Message, error) {
	if attempts < 1 {
		return Message{}, fmt.Errorf("mail: render lockout: %d failed attempts; want at least 1", attempts)
	}
	if at.IsZero() {
		return Message{}, errors.New("mail: render lockout: time of the lock is missing")
	}
	if resetLink != "" {
		if err := checkLink(resetLink, validFor); err != nil {
			return Message{}, fmt.Errorf("mail: render lockout: %w", err)
		}
	}
	var shownIP string
	if ip != "" {
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			return Message{}, errors.New("mail: render lockout: ip is not an IP address")
		}
		shownIP = addr.Unmap().String()
	}
	v := view{Name: cleanName(name), Link: resetLink, At: at.UTC().Format("2 January 2006 at 15:04 UTC"), IP: shownIP,
		Attempts: fmt.Sprintf("%d failed sign-in attempts", attempts)}
	if attempts == 1 {
		v.Attempts = "1 failed sign-in attempt"
	}
	if resetLink != "" {
		v.ValidFor = humanDuration(validFor)
	}
	return r.render(kindLockout, to, "Your "+r.product+" account was locked", v)
}

// render executes both templates of kind and checks the result as Outbox would.
func (r *Renderer) render(kind, to, subject string, v view) (Message, error) {
	v.Product, v.Subject = r.product, subject
	var text, html bytes.Buffer
	if err := r.text[kind].Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", kind, err)
	}
	if err := r.html[kind].ExecuteTemplate(&html, "layout", v); err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", kind, err)
	}
	m := Message{To: to, Subject: subject, Text: text.String(), HTML: html.String()}
	if err := m.Validate(); err != nil {
		return Message{}, fmt.Errorf("mail: render %s: %w", kind, err)
	}
	return m, nil
}

// checkLink requires an absolute http(s) URL with nothing in it that could break out
// of its line in the text body, and a validity to state. Errors do not repeat the link:
// it carries a token.
func checkLink(link string, validFor time.Duration) error {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsFunc(link, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return errors.New("link is not an absolute http(s) URL without spaces")
	}
	if validFor <= 0 {
		return fmt.Errorf("link validity %s is not positive", validFor)
	}
	return nil
}

// maxNameRunes bounds a name in a greeting.
const maxNameRunes = 64

// cleanName makes a user-chosen display name fit a greeting line: control and
// bidirectional-formatting characters become spaces (a name must not start new lines
// of its own in the text body, nor reorder the text around it), runs of spaces become
// one, and a name longer than maxNameRunes is cut with an ellipsis, so that a name
// cannot carry a paragraph of someone else's text into our mail.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, " ")
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) {
			return ' '
		}
		return r
	}, name)
	name = strings.Join(strings.Fields(name), " ")
	if r := []rune(name); len(r) > maxNameRunes {
		name = string(r[:maxNameRunes-1]) + "…"
	}
	return name
}

// humanDuration says how long a link is valid, rounded down so that it never promises
// more than it is: "30 minutes", "1 hour", "24 hours", "7 days".
func humanDuration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	const day = 24 * time.Hour
	switch {
	case d >= 2*day && d%day == 0:
		return plural(int64(d/day), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64(d/time.Minute), "minute")
	default:
		return plural(int64(d/time.Second), "second")
	}
}
