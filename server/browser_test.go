package server_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/ui/uitest"
)

// person drives one browser context through the pages.
type person struct {
	t      *testing.T
	tab    *uitest.Tab
	origin string
}

func (p *person) open(path string) {
	p.t.Helper()
	p.tab.Do(p.t, chromedp.Navigate(p.origin+path), chromedp.WaitReady(chromedp.CSS("main")))
}

func (p *person) fill(field, value string) {
	p.t.Helper()
	p.tab.Do(p.t, chromedp.SendKeys(chromedp.CSS(`input[name="`+field+`"]`), value))
}

// submit clicks the submit button of the form whose action is action, and waits for the
// document that answers it: the old one is marked first, so that a reload of the same
// address counts too.
func (p *person) submit(action string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.tab.Ctx, chromedp.Evaluate[bool](`window.__seen = true`)); err != nil {
		p.t.Fatal(err)
	}
	p.tab.Do(p.t, chromedp.Click(chromedp.CSS(`form[action="`+action+`"] button[type="submit"]`)))
	p.waitFor(func() bool {
		fresh, err := chromedp.Run(p.tab.Ctx, chromedp.Evaluate[bool](`window.__seen !== true && document.readyState === "complete"`))
		return err == nil && fresh
	})
}

func (p *person) location() string {
	loc, err := chromedp.Run(p.tab.Ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	return loc
}

func (p *person) path() string {
	u, err := url.Parse(p.location())
	if err != nil {
		return ""
	}
	return u.Path
}

func (p *person) text() string {
	s, _ := chromedp.Run(p.tab.Ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

func (p *person) waitFor(ok func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			p.t.Fatalf("the page did not change: at %s\n%s", p.location(), p.text())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantText fails unless the page says want.
func (p *person) wantText(want string) {
	p.t.Helper()
	if !strings.Contains(p.text(), want) {
		p.t.Fatalf("at %s the page does not say %q:\n%s", p.location(), want, p.text())
	}
}

// nextLink waits for the next message and returns the link in it to path, relative to
// the site.
func nextLink(t *testing.T, smtp *mailtest.Server, origin, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := smtp.Next(ctx)
	if err != nil {
		t.Fatalf("no mail: %v", err)
	}
	link, ok := mailtest.FindLink(m.Text, origin+path)
	if !ok {
		t.Fatalf("the message %q has no link to %s:\n%s", m.Subject, path, m.Text)
	}
	return strings.TrimPrefix(link, origin)
}

// TestPeopleRegisterVerifySignInManageSessionsRecoverAndSignOutInABrowser walks the
// pages in headless Chromium as people would, with the real server and a real SMTP
// server, and keeps a screenshot of every page.
func TestPeopleRegisterVerifySignInManageSessionsRecoverAndSignOutInABrowser(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		browser := uitest.NewBrowser(t, "localhost")
		smtp := mailtest.NewServer(t, mailtest.WithoutTLS())
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		_, port, _ := net.SplitHostPort(addr)
		origin := "http://localhost:" + port
		cfg := testConfig(t, dbURL, append(fastHashing,
			"IDENTITYD_PUBLIC_ADDR="+addr, "IDENTITYD_ISSUER="+origin,
			"IDENTITYD_SMTP_URL="+smtp.PlaintextURL(), "IDENTITYD_REGISTRATION_ENABLED=true",
			"IDENTITYD_PRODUCT_NAME=Example Cloud")...)
		cfg.AdminAddr = "127.0.0.2:0" // any free port; the pages need none of it
		s, logs := newServer(t, cfg)
		serve(t, s)
		shot := func(p *person, name string) {
			// Screenshots of both backends would be the same pictures; one set is kept.
			if strings.HasSuffix(t.Name(), "/sqlite") {
				p.tab.Screenshot(t, "page-"+name)
			}
		}
		ada := &person{t: t, tab: browser.Tab(t, origin), origin: origin}
		const (
			firstPassword  = "violet kettle drum 42"
			secondPassword = "amber lantern field 77"
		)

		// Register; the verification mail arrives; its link verifies the address.
		ada.open("/register")
		shot(ada, "register")
		ada.fill("email", "ada@example.com")
		ada.fill("name", "Ada Lovelace")
		ada.fill("password", firstPassword)
		ada.submit("/register")
		ada.wantText("Check your email")
		shot(ada, "registered")
		ada.open(nextLink(t, smtp, origin, "/verify?token="))
		shot(ada, "verify")
		ada.submit("/verify")
		ada.wantText("confirmed")
		shot(ada, "verified")

		// Sign in; the account page lists this session.
		ada.open("/account")
		if ada.path() != "/login" {
			t.Fatalf("a signed-out visit to /account went to %s", ada.location())
		}
		shot(ada, "login")
		ada.fill("identifier", "ada@example.com")
		ada.fill("password", firstPassword)
		ada.submit("/login")
		if ada.path() != "/account" {
			t.Fatalf("after signing in: %s\n%s", ada.location(), ada.text())
		}
		ada.wantText("This device")
		shot(ada, "account")

		// A second browser signs in too; the first signs it out.
		phone := &person{t: t, tab: browser.Tab(t, origin), origin: origin}
		phone.open("/login?return_to=/account")
		phone.fill("identifier", "ada@example.com")
		phone.fill("password", firstPassword)
		phone.submit("/login")
		phone.wantText("ada@example.com")
		ada.open("/account")
		if n := strings.Count(ada.text(), "Signed in with"); n != 2 {
			t.Fatalf("the account page lists %d sessions, want 2:\n%s", n, ada.text())
		}
		shot(ada, "account-two-sessions")
		ada.submit("/account/sessions/revoke")
		ada.wantText("That session was signed out.")
		phone.open("/account")
		if phone.path() != "/login" {
			t.Fatalf("the revoked browser still opens %s", phone.location())
		}

		// The second browser forgets the password and resets it by email.
		phone.open("/forgot-password")
		shot(phone, "forgot-password")
		phone.fill("email", "ADA@example.com")
		phone.submit("/forgot-password")
		shot(phone, "forgot-password-sent")
		phone.open(nextLink(t, smtp, origin, "/reset-password?token="))
		shot(phone, "reset-password")
		phone.fill("password", secondPassword)
		phone.submit("/reset-password")
		phone.wantText("Your password was changed")
		shot(phone, "login-after-reset")
		// The reset revoked every session: the first browser is signed out too.
		ada.open("/account")
		if ada.path() != "/login" {
			t.Fatalf("after the reset the first browser still opens %s", ada.location())
		}
		ada.fill("identifier", "ada@example.com")
		ada.fill("password", firstPassword)
		ada.submit("/login")
		ada.wantText("is not right")
		shot(ada, "login-error")
		phone.fill("identifier", "ada@example.com")
		phone.fill("password", secondPassword)
		phone.submit("/login")
		phone.wantText("ada@example.com")

		// Signing out asks first, then ends the session.
		phone.open("/logout")
		shot(phone, "logout")
		phone.submit("/logout")
		phone.wantText("You have signed out.")
		phone.open("/account")
		if phone.path() != "/login" {
			t.Fatalf("after signing out /account opens %s", phone.location())
		}

		// A page that goes wrong is a page, not a stack trace.
		phone.open("/login?flow=" + strings.Repeat("A", 22))
		phone.wantText("This sign-in has expired")
		shot(phone, "error")

		for _, p := range []*person{ada, phone} {
			// The wrong password and the forged flow are meant to answer 401 and 400.
			p.tab.Clean(t, origin+"/favicon.ico", "(Unauthorized) "+origin+"/login", "(Bad Request) "+origin+"/login?flow=")
		}
		if strings.Contains(logs.String(), `"level":"ERROR"`) {
			t.Errorf("the server logged errors:\n%s", logs)
		}
	})
}
