package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
)

func (a *testAPI) createUser(t testing.TB, body string) api.User {
	t.Helper()
	var u api.User
	wantStatus(t, a.call(t, http.MethodPost, "/v1/users", body), http.StatusCreated, &u)
	return u
}

func countUsers(t testing.TB, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUsersAreCreatedListedChangedAndDeletedThroughTheAPI(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ada := a.createUser(t, `{"email":"ada@example.com","email_verified":true,"username":"ada","name":"Ada Lovelace",
			"password":"violet kettle drum 42","metadata":{"team":"engines","level":3}}`)
		if !ada.EmailVerified || !ada.HasPassword || ada.Status != "active" || ada.Metadata["team"] != "engines" {
			t.Errorf("created %+v", ada)
		}
		for _, e := range []string{"grace@example.com", "alan@example.com", "adam@example.org"} {
			a.createUser(t, `{"email":"`+e+`"}`)
		}

		var got api.User
		wantStatus(t, a.call(t, http.MethodGet, "/v1/users/"+ada.ID, ""), http.StatusOK, &got)
		if got.ID != ada.ID || got.Name != "Ada Lovelace" {
			t.Errorf("GET %+v", got)
		}

		// Search pages follow the Link header, which keeps the query.
		var emails []string
		next := "/v1/users?q=ADA&limit=1"
		for next != "" {
			res := a.call(t, http.MethodGet, next, "")
			var page struct{ Items []api.User }
			wantStatus(t, res, http.StatusOK, &page)
			for _, u := range page.Items {
				emails = append(emails, u.Email)
			}
			next = ""
			if link := res.header.Get("Link"); link != "" {
				next = strings.TrimSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
				if !strings.Contains(next, "q=ADA") {
					t.Errorf("the next link %q lost the query", next)
				}
			}
		}
		if want := []string{"ada@example.com", "adam@example.org"}; !slices.Equal(emails, want) {
			t.Errorf("search for ADA: %v, want %v", emails, want)
		}

		res := a.call(t, http.MethodPatch, "/v1/users/"+ada.ID, `{"name":"Ada King","status":"disabled","metadata":{}}`)
		got = api.User{}
		wantStatus(t, res, http.StatusOK, &got)
		if got.Name != "Ada King" || got.Status != "disabled" || len(got.Metadata) != 0 {
			t.Errorf("PATCH %+v", got)
		}
		var listed struct{ Items []api.User }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/users?status=disabled", ""), http.StatusOK, &listed)
		if len(listed.Items) != 1 || listed.Items[0].ID != ada.ID {
			t.Errorf("disabled users %+v", listed.Items)
		}
		wantStatus(t, a.call(t, http.MethodPost, "/v1/users/"+ada.ID+"/password", `{"password":"amber lantern field 77"}`), http.StatusNoContent, nil)
		wantStatus(t, a.call(t, http.MethodPost, "/v1/users/"+ada.ID+"/unlock", ""), http.StatusOK, nil)
		wantStatus(t, a.call(t, http.MethodDelete, "/v1/users/"+ada.ID, ""), http.StatusNoContent, nil)
		wantProblem(t, a.call(t, http.MethodGet, "/v1/users/"+ada.ID, ""), http.StatusNotFound)
		if n := countUsers(t, db); n != 3 {
			t.Errorf("%d users left, want 3", n)
		}
	})
}

func TestBadUserInputGetsFieldErrorsAndChangesNothing(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ada := a.createUser(t, `{"email":"ada@example.com","username":"ada"}`)

		p := wantProblem(t, a.call(t, http.MethodPost, "/v1/users",
			`{"email":"not an address","username":"a b","name":" x","metadata":{"deep":`+strings.Repeat(`[`, 20)+strings.Repeat(`]`, 20)+`}}`),
			http.StatusUnprocessableEntity)
		if want := []string{"body.email", "body.username", "body.name", "body.metadata"}; !slices.Equal(p.locations(), want) {
			t.Errorf("locations %v, want %v", p.locations(), want)
		}
		p = wantProblem(t, a.call(t, http.MethodPost, "/v1/users", `{"email":"b@example.com","password":"password123"}`), http.StatusUnprocessableEntity)
		if !slices.Equal(p.locations(), []string{"body.password"}) || strings.Contains(string(p.Detail+p.Errors[0].Message), "password123") {
			t.Errorf("weak password: %+v", p)
		}
		for _, tc := range []struct {
			name, body string
			status     int
			where      string
		}{
			{"duplicate email in another case", `{"email":"ADA@Example.com"}`, http.StatusConflict, ""},
			{"duplicate username in another case", `{"email":"x@example.com","username":"ADA"}`, http.StatusConflict, ""},
			{"unknown field", `{"email":"x@example.com","role":"admin"}`, http.StatusUnprocessableEntity, "body.role"},
			{"invalid UTF-8", "{\"email\":\"x@example.com\",\"name\":\"\xff\"}", http.StatusUnprocessableEntity, "body.name"},
			{"lone surrogate", `{"email":"x@example.com","name":"\ud800"}`, http.StatusUnprocessableEntity, "body.name"},
			{"overlong email", `{"email":"` + strings.Repeat("a", 300) + `@example.com"}`, http.StatusUnprocessableEntity, "body.email"},
			{"oversized metadata", `{"email":"x@example.com","metadata":{"x":"` + strings.Repeat("y", 20000) + `"}}`, http.StatusUnprocessableEntity, "body.metadata"},
			{"metadata not an object", `{"email":"x@example.com","metadata":[1]}`, http.StatusUnprocessableEntity, "body.metadata"},
			{"hostile hash", `{"email":"x@example.com","password_hash":"$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzABCDE"}`, http.StatusUnprocessableEntity, "body.password_hash"},
			{"not JSON", `{"email":`, http.StatusBadRequest, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := wantProblem(t, a.call(t, http.MethodPost, "/v1/users", tc.body), tc.status)
				if tc.where != "" && !slices.Contains(p.locations(), tc.where) {
					t.Errorf("locations %v, want %s", p.locations(), tc.where)
				}
			})
		}
		for _, tc := range []struct {
			target string
			status int
		}{
			{"/v1/users?limit=0", http.StatusUnprocessableEntity},
			{"/v1/users?limit=-5", http.StatusUnprocessableEntity},
			{"/v1/users?limit=100000000000000000000", http.StatusUnprocessableEntity},
			{"/v1/users?cursor=" + url.QueryEscape("'; DROP TABLE users; --"), http.StatusBadRequest},
			{"/v1/users?status=sleeping", http.StatusUnprocessableEntity},
			{"/v1/users?created_from=yesterday", http.StatusUnprocessableEntity},
			{"/v1/users?q=" + strings.Repeat("a", 101), http.StatusUnprocessableEntity},
			{"/v1/users?q=%FF", http.StatusUnprocessableEntity},
			{"/v1/users?role=admin", http.StatusUnprocessableEntity},
		} {
			wantProblem(t, a.call(t, http.MethodGet, tc.target, ""), tc.status)
		}
		var page struct{ Items []api.User }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/users?q="+url.QueryEscape("%' OR '1'='1"), ""), http.StatusOK, &page)
		if len(page.Items) != 0 {
			t.Errorf("SQL in q found %d users", len(page.Items))
		}
		p = wantProblem(t, a.call(t, http.MethodPatch, "/v1/users/"+ada.ID, `{"status":"locked","email":"bad"}`), http.StatusUnprocessableEntity)
		if want := []string{"body.status"}; !slices.Equal(p.locations(), want) {
			// huma checks the enum before the users package sees the email.
			t.Errorf("locations %v, want %v", p.locations(), want)
		}
		if n := countUsers(t, db); n != 1 {
			t.Errorf("%d users after bad input, want 1", n)
		}
	})
}

func TestImportTakesJSONLinesAndReportsEachRejectedLine(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		jsonl := func(body string) request {
			return request{method: http.MethodPost, target: "/v1/users/import", body: body,
				header: http.Header{"Content-Type": {"application/x-ndjson"}}}
		}
		body := `{"email":"ada@example.com","name":"Ada","password_hash":"pbkdf2_sha256$260000$Yb2Ds1cK9wQz$V1mP3oUd3lxEzgCs5FB22mF9lXpcIWJoZyHxIDpUmcE="}
{"email":"nope"}
{"email":"grace@example.com","password":"amber lantern field 77"}
`
		var out api.ImportResult
		wantStatus(t, a.do(t, jsonl(body)), http.StatusOK, &out)
		if out.Created != 2 || out.Skipped != 0 || out.Rejected != 1 || len(out.Rejections) != 1 ||
			out.Rejections[0].Line != 2 || out.Rejections[0].Errors[0].Field != "email" {
			t.Errorf("import result %+v", out)
		}
		wantStatus(t, a.do(t, jsonl(body)), http.StatusOK, &out)
		if out.Created != 0 || out.Skipped != 2 || out.Rejected != 1 {
			t.Errorf("second import %+v", out)
		}

		many := strings.Repeat("{\"email\":\"bad\"}\n", 1500)
		wantStatus(t, a.do(t, jsonl(many)), http.StatusOK, &out)
		if out.Rejected != 1500 || len(out.Rejections) != 1000 || !out.Truncated {
			t.Errorf("1500 bad lines: rejected %d, listed %d, truncated %v", out.Rejected, len(out.Rejections), out.Truncated)
		}

		big := jsonl(strings.Repeat(`{"email":"x@example.com"}`+"\n", importMaxBytes/20))
		wantProblem(t, a.do(t, big), http.StatusRequestEntityTooLarge)
		chunked := jsonl(`{"email":"chunked@example.com"}`)
		chunked.unknownLength = true
		wantProblem(t, a.do(t, chunked), http.StatusLengthRequired)
		wantProblem(t, a.do(t, request{method: http.MethodPost, target: "/v1/users/import", body: `{"email":"json@example.com"}`}),
			http.StatusUnsupportedMediaType)
		withQuery := jsonl(`{"email":"q@example.com"}`)
		withQuery.target += "?dry_run=1"
		wantProblem(t, a.do(t, withQuery), http.StatusUnprocessableEntity)
		if n := countUsers(t, db); n != 2 {
			t.Errorf("%d users, want the 2 imported", n)
		}
	})
}

func TestAdminsListAndEndAUsersSessions(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		a := newAPI(t, db)
		ada := a.createUser(t, `{"email":"ada@example.com"}`)
		grace := a.createUser(t, `{"email":"grace@example.com"}`)
		ctx := context.Background()
		var ids []string
		for range 3 {
			a.clock.Advance(time.Second)
			_, s, err := a.sessions.Establish(ctx, "", ada.ID, sessions.Auth{Methods: []string{"pwd"}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, s.ID)
		}
		_, other, err := a.sessions.Establish(ctx, "", grace.ID, sessions.Auth{Methods: []string{"pwd"}})
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Items []api.Session }
		wantStatus(t, a.call(t, http.MethodGet, "/v1/users/"+ada.ID+"/sessions", ""), http.StatusOK, &list)
		if len(list.Items) != 3 || list.Items[0].ID != ids[2] || !slices.Equal(list.Items[0].Methods, []string{"pwd"}) {
			t.Fatalf("sessions %+v", list.Items)
		}
		// Another user's session cannot be ended through this user.
		wantProblem(t, a.call(t, http.MethodDelete, "/v1/users/"+ada.ID+"/sessions/"+other.ID, ""), http.StatusNotFound)
		wantStatus(t, a.call(t, http.MethodDelete, "/v1/users/"+ada.ID+"/sessions/"+ids[0], ""), http.StatusNoContent, nil)
		var revoked struct{ Revoked int }
		wantStatus(t, a.call(t, http.MethodDelete, "/v1/users/"+ada.ID+"/sessions", ""), http.StatusOK, &revoked)
		if revoked.Revoked != 2 {
			t.Errorf("revoked %d, want the 2 left", revoked.Revoked)
		}
		wantStatus(t, a.call(t, http.MethodGet, "/v1/users/"+ada.ID+"/sessions", ""), http.StatusOK, &list)
		if len(list.Items) != 0 {
			t.Errorf("%d sessions left", len(list.Items))
		}
		wantStatus(t, a.call(t, http.MethodGet, "/v1/users/"+grace.ID+"/sessions", ""), http.StatusOK, &list)
		if len(list.Items) != 1 {
			t.Errorf("the other user's sessions: %d, want 1", len(list.Items))
		}
		wantProblem(t, a.call(t, http.MethodGet, "/v1/users/nosuchuser/sessions", ""), http.StatusNotFound)
		wantProblem(t, a.call(t, http.MethodDelete, "/v1/users/nosuchuser/sessions", ""), http.StatusNotFound)
	})
}
