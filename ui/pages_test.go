package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

const password = "violet kettle drum 42"

func TestSignInCostsOneHashAndLeadsWhereTheFlowSaid(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		b := s.browser()
		flow, csrf := b.loginForm("/account?tab=sessions")
		before := s.hasher.Stats().Derivations
		a := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {"ADA@example.com"}, "password": {password}})
		if n := s.hasher.Stats().Derivations - before; n != 1 {
			t.Errorf("signing in cost %d password hashes, want 1", n)
		}
		if a.status != http.StatusSeeOther || a.location != "/account?tab=sessions" {
			t.Fatalf("sign in: %d to %q\n%s", a.status, a.location, a.body)
		}
		cookie := ""
		for _, c := range a.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "identityd_session=") {
				cookie = c
			}
		}
		for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(cookie, attr) {
				t.Errorf("the session cookie %q lacks %s", cookie, attr)
			}
		}
		if strings.Contains(cookie, "Max-Age") || strings.Contains(cookie, "Expires") {
			t.Errorf("without remember-me the session cookie must end with the browser: %q", cookie)
		}
		account := b.follow(a)
		if account.status != http.StatusOK || !strings.Contains(account.body, "ada@example.com") {
			t.Fatalf("the account page: %d", account.status)
		}
		// A finished flow cannot be used again.
		again := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {"ada@example.com"}, "password": {password}})
		if again.status != http.StatusBadRequest {
			t.Errorf("a finished flow answered %d", again.status)
		}
		// Signed in, the sign-in page sends straight on: single sign-on.
		if a := b.get("/login?return_to=/account"); a.status != http.StatusSeeOther || a.location != "/account" {
			t.Errorf("signed in, /login answered %d to %q", a.status, a.location)
		}
	})
}

func TestSignOutNeedsAConfirmationAndEndsTheSession(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		b := s.browser()
		b.follow(b.signIn("ada@example.com", password))
		page := b.get("/logout")
		if page.status != http.StatusOK || !b.signedIn() {
			t.Fatalf("GET /logout: %d; a GET must never sign out", page.status)
		}
		out := b.post("/logout", url.Values{"csrf_token": {hidden(t, page.body, "csrf_token")}})
		if out.status != http.StatusSeeOther || !strings.HasPrefix(out.location, "/login") {
			t.Fatalf("POST /logout: %d %s", out.status, out.location)
		}
		if b.signedIn() {
			t.Error("still signed in after signing out")
		}
		if a := b.get("/account"); a.location != "/login?return_to=/account" {
			t.Errorf("a signed-out visitor to /account goes to %q", a.location)
		}
	})
}

// normalised is a page with what differs between any two requests taken out: form
// tokens, flow ids and request ids.
func normalised(body string) string {
	body = regexp.MustCompile(`value="[A-Za-z0-9_-]{20,}"`).ReplaceAllString(body, `value="…"`)
	return regexp.MustCompile(`flow=[A-Za-z0-9_-]+`).ReplaceAllString(body, "flow=…")
}

func TestSignInAnswersAnUnknownUserAndAWrongPasswordAlike(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		attempt := func(identifier string) (answer, uint64) {
			b := s.browser()
			flow, csrf := b.loginForm("")
			before := s.hasher.Stats().Derivations
			a := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {identifier}, "password": {"wrong password"}})
			return a, s.hasher.Stats().Derivations - before
		}
		wrong, wrongWork := attempt("ada@example.com")
		unknown, unknownWork := attempt("nobody@example.com")
		if wrong.status != http.StatusUnauthorized || unknown.status != wrong.status {
			t.Errorf("statuses: wrong password %d, unknown user %d", wrong.status, unknown.status)
		}
		w := strings.ReplaceAll(normalised(wrong.body), "ada@example.com", "X")
		u := strings.ReplaceAll(normalised(unknown.body), "nobody@example.com", "X")
		if w != u {
			t.Errorf("the pages differ:\n--- wrong password\n%s\n--- unknown user\n%s", w, u)
		}
		if wrongWork != unknownWork || wrongWork != 1 {
			t.Errorf("hashing: wrong password %d, unknown user %d; want 1 each", wrongWork, unknownWork)
		}
		if !strings.Contains(wrong.body, `role="alert"`) {
			t.Error("the failure is not in a role=alert element")
		}
	})
}

func TestFormsWithoutThisBrowsersTokenOrFromAnotherSiteChangeNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		b := s.browser()
		flow, csrf := b.loginForm("")
		other := s.browser()
		otherCSRF := other.csrf()
		creds := func(token string) url.Values {
			return url.Values{"flow": {flow}, "csrf_token": {token}, "identifier": {"ada@example.com"}, "password": {password}}
		}
		// One character off; the token may begin with an A itself.
		wrong := "A" + csrf[1:]
		if csrf[0] == 'A' {
			wrong = "B" + csrf[1:]
		}
		for name, a := range map[string]answer{
			"no token":               b.post("/login", url.Values{"flow": {flow}, "identifier": {"ada@example.com"}, "password": {password}}),
			"a wrong token":          b.post("/login", creds(wrong)),
			"another browser's":      b.post("/login", creds(otherCSRF)),
			"the flow elsewhere":     other.post("/login", url.Values{"flow": {flow}, "csrf_token": {otherCSRF}, "identifier": {"ada@example.com"}, "password": {password}}),
			"a forged flow":          b.post("/login", url.Values{"flow": {strings.Repeat("A", 22)}, "csrf_token": {csrf}, "identifier": {"ada@example.com"}, "password": {password}}),
			"SQL for a flow":         b.post("/login", url.Values{"flow": {"' OR 1=1 --"}, "csrf_token": {csrf}, "identifier": {"ada@example.com"}, "password": {password}}),
			"a cross-site form":      crossSite(b, "/login", creds(csrf)),
			"logout from elsewhere":  crossSite(b, "/logout", url.Values{"csrf_token": {csrf}}),
			"a forged flow page":     b.get("/login?flow=" + strings.Repeat("A", 22)),
			"another browser's flow": other.get("/login?flow=" + flow),
		} {
			if a.status != http.StatusForbidden && a.status != http.StatusBadRequest {
				t.Errorf("%s: %d, want 403 or 400", name, a.status)
			}
			if !strings.Contains(a.body, `role="alert"`) {
				t.Errorf("%s: not an error page:\n%s", name, a.body)
			}
		}
		if b.signedIn() || other.signedIn() {
			t.Error("someone was signed in")
		}
		// The flow is still good for its own browser.
		if a := b.post("/login", creds(csrf)); a.status != http.StatusSeeOther {
			t.Errorf("the untouched flow then failed: %d", a.status)
		}
	})
}

// crossSite posts as a page of another site would make the browser post.
func crossSite(b *browser, path string, form url.Values) answer {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodPost, b.s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.Header.Set("Origin", "https://evil.example")
	return b.do(r)
}

func TestAFlowExpires(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		b := s.browser()
		flow, csrf := b.loginForm("")
		s.clock.Advance(time.Minute)
		a := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {"ada@example.com"}, "password": {password}})
		if a.status != http.StatusBadRequest || b.signedIn() {
			t.Errorf("an expired flow: %d, signed in %v", a.status, b.signedIn())
		}
	})
}

func TestReturnToAcceptsOnlyPathsOnThisSite(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.browser()
		for _, target := range []string{"//evil.example", "https://evil.example/", `/\evil.example`, "javascript:alert(1)",
			"/%2Fevil.example", "http:evil.example"} {
			a := b.get("/login?return_to=" + url.QueryEscape(target))
			if a.status != http.StatusBadRequest || strings.Contains(a.location, "evil") {
				t.Errorf("return_to=%s: %d to %q, want 400", target, a.status, a.location)
			}
		}
	})
}

func TestTamperedCookiesSignNobodyIn(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		b := s.browser()
		b.follow(b.signIn("ada@example.com", password))
		u, _ := url.Parse(s.srv.URL)
		var token string
		for _, c := range b.client.Jar.Cookies(u) {
			if c.Name == "identityd_session" {
				token = c.Value
			}
		}
		for _, forged := range []string{token[:len(token)-1] + "x", token + "x", "", "%00", strings.Repeat("A", 43)} {
			e := s.browser()
			e.client.Jar.SetCookies(u, []*http.Cookie{{Name: "identityd_session", Value: forged}})
			if e.signedIn() {
				t.Errorf("the forged cookie %q signed in", forged)
			}
		}
		if !b.signedIn() {
			t.Error("the real session stopped working")
		}
	})
}

func TestOversizedAndNonTextFormsAreRefused(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.browser()
		csrf := b.csrf()
		if a := b.post("/forgot-password", url.Values{"csrf_token": {csrf}, "email": {strings.Repeat("a", 100<<10)}}); a.status != http.StatusRequestEntityTooLarge {
			t.Errorf("a 100 KiB form: %d", a.status)
		}
		if a := b.post("/forgot-password", url.Values{"csrf_token": {csrf}, "email": {"ada\xff@example.com"}}); a.status != http.StatusBadRequest {
			t.Errorf("invalid UTF-8: %d", a.status)
		}
		if a := b.post("/register", url.Values{"csrf_token": {csrf}, "email": {"ada@example.com"}, "name": {"a\x00b"}, "password": {password}}); a.status != http.StatusBadRequest {
			t.Errorf("a NUL: %d", a.status)
		}
		if n := storetest.Count(t, db, "users"); n != 0 {
			t.Errorf("%d users written", n)
		}
	})
}

func TestFormsArePostedAtMostSoOftenFromOneAddress(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{posts: 3})
		b := s.browser()
		b.ip = "198.51.100.20"
		csrf := b.csrf()
		for i := range 3 {
			if a := b.post("/forgot-password", url.Values{"csrf_token": {csrf}, "email": {"nobody@example.com"}}); a.status != http.StatusOK {
				t.Fatalf("post %d: %d", i+1, a.status)
			}
		}
		a := b.post("/forgot-password", url.Values{"csrf_token": {csrf}, "email": {"nobody@example.com"}})
		if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" {
			t.Errorf("the 4th post: %d (Retry-After %q)", a.status, a.header.Get("Retry-After"))
		}
		other := s.browser()
		other.ip = "198.51.100.21"
		if a := other.post("/forgot-password", url.Values{"csrf_token": {other.csrf()}, "email": {"nobody@example.com"}}); a.status != http.StatusOK {
			t.Errorf("another address: %d", a.status)
		}
	})
}

func TestRegistrationAndRecoveryAnswerAlikeForKnownAndUnknownAddresses(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		answerFor := func(path string, form url.Values) answer {
			b := s.browser()
			form.Set("csrf_token", b.csrf())
			return b.post(path, form)
		}
		for path, forms := range map[string][2]url.Values{
			"/register": {
				{"email": {"ada@example.com"}, "name": {"Ada"}, "password": {"amber lantern field 77"}},
				{"email": {"newbie@example.com"}, "name": {"Ada"}, "password": {"amber lantern field 77"}},
			},
			"/forgot-password": {{"email": {"ada@example.com"}}, {"email": {"newbie2@example.com"}}},
		} {
			known, unknown := answerFor(path, forms[0]), answerFor(path, forms[1])
			if known.status != http.StatusOK || known.status != unknown.status || normalised(known.body) != normalised(unknown.body) {
				t.Errorf("%s: known %d, unknown %d; pages alike: %v", path, known.status, unknown.status,
					normalised(known.body) == normalised(unknown.body))
			}
		}
		// The owner of the known address learns of both; the new address gets its link.
		got := map[string]int{}
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			m, err := s.smtp.Next(ctx)
			cancel()
			if err != nil {
				t.Fatalf("mail: %v (got %v)", err, got)
			}
			got[m.To[0]]++
		}
		if got["ada@example.com"] != 2 || got["newbie@example.com"] != 1 {
			t.Errorf("mail went to %v", got)
		}
	})
}

// codeFactor is a second factor for tests: users in need must send the code 424242.
type codeFactor struct{ need string }

func (c codeFactor) Required(_ context.Context, userID string) (bool, error) {
	return userID == c.need, nil
}

func (c codeFactor) Step(w http.ResponseWriter, r *http.Request, f flows.Flow) ([]string, bool) {
	if r.Method == http.MethodPost && r.PostForm.Get("code") == "424242" {
		return []string{"otp"}, true
	}
	_, _ = w.Write([]byte("second factor for " + f.UserID))
	return nil, false
}

func TestASecondFactorStepHoldsTheFlowUntilItIsDone(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		ada := s.user("ada@example.com", password)
		s = newSite(t, db, siteOptions{secondFactor: codeFactor{need: ada.ID}})
		b := s.browser()
		flow, csrf := b.loginForm("")
		a := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {"ada@example.com"}, "password": {password}})
		if a.status != http.StatusSeeOther || a.location != "/login?flow="+flow || b.signedIn() {
			t.Fatalf("after the password: %d to %q, signed in %v", a.status, a.location, b.signedIn())
		}
		if page := b.get(a.location); !strings.Contains(page.body, "second factor for "+ada.ID) {
			t.Fatalf("the flow's page is not the second factor's: %s", page.body)
		}
		if wrong := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "code": {"000000"}}); b.signedIn() {
			t.Fatalf("a wrong code signed in (%d)", wrong.status)
		}
		done := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "code": {"424242"}})
		if done.status != http.StatusSeeOther || !b.signedIn() {
			t.Fatalf("the right code: %d, signed in %v", done.status, b.signedIn())
		}
		var amr string
		if err := db.QueryRow(context.Background(), `SELECT amr FROM sessions WHERE user_id = $1`, ada.ID).Scan(&amr); err != nil || amr != `["pwd","otp"]` {
			t.Errorf("the session's methods %s (%v), want pwd and otp", amr, err)
		}
	})
}

// TestAnAccountDisabledDuringTheSecondFactorStepGetsNoSession: the flow finishes, but
// the account can no longer sign in, which is a page that says so, not a server error.
func TestAnAccountDisabledDuringTheSecondFactorStepGetsNoSession(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		ada := s.user("ada@example.com", password)
		s = newSite(t, db, siteOptions{secondFactor: codeFactor{need: ada.ID}})
		b := s.browser()
		flow, csrf := b.loginForm("")
		if a := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "identifier": {"ada@example.com"}, "password": {password}}); a.status != http.StatusSeeOther {
			t.Fatalf("after the password: %d", a.status)
		}
		disabled := users.StatusDisabled
		if _, err := s.users.Update(context.Background(), ada.ID, users.Patch{Status: &disabled}); err != nil {
			t.Fatal(err)
		}
		done := b.post("/login", url.Values{"flow": {flow}, "csrf_token": {csrf}, "code": {"424242"}})
		if done.status != http.StatusForbidden || !strings.Contains(done.body, `role="alert"`) || b.signedIn() {
			t.Fatalf("the right code for a disabled account: %d, signed in %v\n%s", done.status, b.signedIn(), done.body)
		}
	})
}

func TestTheAccountPageChangesThePasswordAndSignsOutOtherSessions(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		s.user("ada@example.com", password)
		laptop, phone := s.browser(), s.browser()
		laptop.follow(laptop.signIn("ada@example.com", password))
		phone.follow(phone.signIn("ada@example.com", password))
		page := laptop.get("/account")
		if n := strings.Count(page.body, `name="session_id"`); n != 1 {
			t.Errorf("the account page offers %d other sessions to sign out, want 1", n)
		}
		csrf := hidden(t, page.body, "csrf_token")
		bad := laptop.post("/account/password", url.Values{"csrf_token": {csrf}, "current_password": {"not it"}, "new_password": {"amber lantern field 77"}})
		if bad.status != http.StatusUnauthorized || !strings.Contains(bad.body, "current password is not right") {
			t.Errorf("a wrong current password: %d", bad.status)
		}
		ok := laptop.post("/account/password", url.Values{"csrf_token": {csrf}, "current_password": {password}, "new_password": {"amber lantern field 77"}})
		if ok.status != http.StatusSeeOther || !laptop.signedIn() || phone.signedIn() {
			t.Errorf("after a change: %d; laptop signed in %v, phone %v (want true, false)", ok.status, laptop.signedIn(), phone.signedIn())
		}
		if a := s.browser().signIn("ada@example.com", "amber lantern field 77"); a.status != http.StatusSeeOther {
			t.Errorf("the new password does not sign in: %d", a.status)
		}
	})
}

func TestVerifyAndResetLinksLandOnAPageThatAsksFirst(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		s := newSite(t, db, siteOptions{})
		b := s.browser()
		a := b.post("/register", url.Values{"csrf_token": {b.csrf()}, "email": {"ada@example.com"}, "name": {"Ada"}, "password": {password}})
		if a.status != http.StatusOK {
			t.Fatalf("register: %d", a.status)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		m, err := s.smtp.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		link, ok := mailtest.FindLink(m.Text, s.srv.URL+"/verify?token=")
		if !ok {
			t.Fatalf("no verification link in:\n%s", m.Text)
		}
		landing := b.get(strings.TrimPrefix(link, s.srv.URL))
		var verified bool
		if err := db.QueryRow(ctx, `SELECT email_verified FROM users`).Scan(&verified); err != nil || verified {
			t.Fatalf("opening the link verified the address already (%v)", err)
		}
		done := b.post("/verify", url.Values{"csrf_token": {hidden(t, landing.body, "csrf_token")}, "token": {hidden(t, landing.body, "token")}})
		if done.status != http.StatusOK {
			t.Fatalf("confirm: %d", done.status)
		}
		if err := db.QueryRow(ctx, `SELECT email_verified FROM users`).Scan(&verified); err != nil || !verified {
			t.Errorf("the address is not verified (%v)", err)
		}
		if again := b.post("/verify", url.Values{"csrf_token": {hidden(t, landing.body, "csrf_token")}, "token": {hidden(t, landing.body, "token")}}); again.status != http.StatusBadRequest {
			t.Errorf("the link worked twice: %d", again.status)
		}
		if a := b.get("/reset-password?token=" + strings.Repeat("A", 43)); a.status != http.StatusBadRequest {
			t.Errorf("a forged reset link: %d", a.status)
		}
	})
}
