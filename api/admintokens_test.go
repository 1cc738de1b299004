package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

// tokenView is an admin token as the API shows it; Token is set only on creation.
type tokenView struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Token      string     `json:"token"`
}

type tokenPage struct {
	Items []tokenView `json:"items"`
}

// createToken creates an admin token through the API.
func (a *testAPI) createToken(t testing.TB, body string) tokenView {
	t.Helper()
	var tok tokenView
	wantStatus(t, a.call(t, http.MethodPost, "/v1/admin-tokens", body), http.StatusCreated, &tok)
	return tok
}

var nextLink = regexp.MustCompile(`^<(/v1/admin-tokens\?[^>]*)>; rel="next"$`)

// listAll reads every page of the token list, limit tokens a page, following the Link
// headers to the end. It fails on a page over the limit, on a token seen twice and on a
// Link that drops the limit.
func (a *testAPI) listAll(t testing.TB, limit int) []tokenView {
	t.Helper()
	var all []tokenView
	seen := map[string]bool{}
	target := "/v1/admin-tokens?limit=" + strconv.Itoa(limit)
	for pages := 0; target != ""; pages++ {
		if pages > 10000 {
			t.Fatal("the Link headers do not come to an end")
		}
		res := a.call(t, http.MethodGet, target, "")
		var page tokenPage
		wantStatus(t, res, http.StatusOK, &page)
		if page.Items == nil {
			t.Fatalf("page %d: items is %s, want an array", pages, res.body)
		}
		for _, tok := range page.Items {
			if seen[tok.ID] {
				t.Errorf("page %d repeats token %s", pages, tok.ID)
			}
			seen[tok.ID] = true
			if tok.Token != "" {
				t.Errorf("the list shows the secret of token %s", tok.ID)
			}
		}
		all = append(all, page.Items...)
		target = ""
		if link := res.header.Get("Link"); link != "" {
			m := nextLink.FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("Link = %q, want <\\/v1/admin-tokens?…>; rel=\"next\"", link)
			}
			u, err := url.Parse(m[1])
			if err != nil {
				t.Fatalf("Link target %q: %v", m[1], err)
			}
			if got := u.Query().Get("limit"); got != strconv.Itoa(limit) {
				t.Errorf("the next page's limit is %q, want %d", got, limit)
			}
			if len(page.Items) != limit {
				t.Errorf("page %d has %d tokens and a next page; want a full page of %d", pages, len(page.Items), limit)
			}
			target = m[1]
		}
		if len(page.Items) > limit {
			t.Fatalf("page %d has %d tokens, over the limit of %d", pages, len(page.Items), limit)
		}
		if len(page.Items) == 0 && pages > 0 {
			t.Errorf("page %d is empty: the previous page should have had no Link", pages)
		}
	}
	return all
}

func find(toks []tokenView, id string) (tokenView, bool) {
	for _, tok := range toks {
		if tok.ID == id {
			return tok, true
		}
	}
	return tokenView{}, false
}

func TestAnAdminTokenCreatedThroughTheAPIWorksIsListedAndCanBeRevoked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		now := a.clock.Now()
		tok := a.createToken(t, `{"name":"ci deploy","ttl":"24h"}`)
		if tok.ID == "" || !strings.HasPrefix(tok.Token, admintokens.Prefix) {
			t.Fatalf("created %+v, want an id and a token", tok)
		}
		if tok.Name != "ci deploy" || !tok.CreatedAt.Equal(now) || !tok.ExpiresAt.Equal(now.Add(24*time.Hour)) || tok.RevokedAt != nil {
			t.Errorf("created %+v, want name 'ci deploy', created now (%v), expiring in 24h, not revoked", tok, now)
		}
		as := func(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }
		wantStatus(t, a.do(t, request{method: http.MethodGet, target: "/v1/status", header: as(tok.Token)}), http.StatusOK, nil)

		listed, ok := find(a.listAll(t, 500), tok.ID)
		if !ok {
			t.Fatalf("the new token %s is not listed", tok.ID)
		}
		if listed.Name != tok.Name || !listed.CreatedAt.Equal(tok.CreatedAt) || !listed.ExpiresAt.Equal(tok.ExpiresAt) ||
			listed.LastUsedAt == nil || !listed.LastUsedAt.Equal(now) {
			t.Errorf("listed %+v, want what was created, last used now", listed)
		}

		res := a.call(t, http.MethodDelete, "/v1/admin-tokens/"+tok.ID, "")
		wantStatus(t, res, http.StatusNoContent, nil)
		if len(res.body) != 0 {
			t.Errorf("204 with a body: %q", res.body)
		}
		res = a.do(t, request{method: http.MethodGet, target: "/v1/status", header: as(tok.Token)})
		wantProblem(t, res, http.StatusUnauthorized)
		if got := res.header.Get("WWW-Authenticate"); got != challengeInvalidToken {
			t.Errorf("WWW-Authenticate = %q, want %q", got, challengeInvalidToken)
		}
		listed, _ = find(a.listAll(t, 500), tok.ID)
		if listed.RevokedAt == nil || !listed.RevokedAt.Equal(now) {
			t.Errorf("after revoking, listed %+v, want revoked now", listed)
		}
		wantStatus(t, a.call(t, http.MethodDelete, "/v1/admin-tokens/"+tok.ID, ""), http.StatusNoContent, nil)

		// The harness's own token is untouched by all this.
		wantStatus(t, a.call(t, http.MethodGet, "/v1/status", ""), http.StatusOK, nil)
	})
}

func TestATokenCreatedWithoutNameOrTTLGetsTheDefaults(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		for _, body := range []string{`{}`, `{"name":"","ttl":""}`} {
			tok := a.createToken(t, body)
			if tok.Name != admintokens.DefaultName || tok.ExpiresAt.Sub(tok.CreatedAt) != admintokens.DefaultTTL {
				t.Errorf("%s: created %+v, want name %q valid for %v", body, tok, admintokens.DefaultName, admintokens.DefaultTTL)
			}
		}
	})
}

func TestRevokingAnUnknownTokenIsNotFound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		before := countTokens(t, db)
		for _, id := range []string{"nosuchtoken", url.PathEscape("'; DELETE FROM admin_tokens;--"), strings.Repeat("z", 64)} {
			p := wantProblem(t, a.call(t, http.MethodDelete, "/v1/admin-tokens/"+id, ""), http.StatusNotFound)
			if p.Detail == "" {
				t.Errorf("%s: the 404 problem has no detail", id)
			}
		}
		if after := countTokens(t, db); after != before {
			t.Errorf("admin_tokens changed from %+v to %+v", before, after)
		}
	})
}

func TestTheTokenListPagesNewestFirstWithoutRepeatsToTheEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		var mine []string
		for i := range 3 {
			a.clock.Advance(time.Second) // distinct creation times, so their order is known
			mine = append(mine, a.createToken(t, `{"name":"page `+strconv.Itoa(i)+`"}`).ID)
		}
		all := a.listAll(t, 2)
		if want := countTokens(t, db).total; len(all) != want {
			t.Errorf("the pages hold %d tokens, the table %d", len(all), want)
		}
		var order []string
		for _, tok := range all {
			for _, id := range mine {
				if tok.ID == id {
					order = append(order, id)
				}
			}
		}
		if want := []string{mine[2], mine[1], mine[0]}; strings.Join(order, ",") != strings.Join(want, ",") {
			t.Errorf("the new tokens are listed as %v, want newest first %v", order, want)
		}
		for i := 1; i < len(all); i++ {
			if all[i].CreatedAt.After(all[i-1].CreatedAt) {
				t.Errorf("token %d (%v) is newer than token %d (%v)", i, all[i].CreatedAt, i-1, all[i-1].CreatedAt)
			}
		}
	})
}
