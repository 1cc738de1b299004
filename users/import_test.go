package users_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

func TestImportCreatesSkipsAndRejectsLineByLine(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		f.create(t, users.NewUser{Email: "existing@example.com", Username: "taken"})
		lines := []string{
			`{"email":"ada@example.com","name":"Ada","password":"violet kettle drum 42","email_verified":true}`,
			`{"email":"django@example.com","password_hash":"` + djangoHash + `","metadata":{"legacy_id":7}}`,
			``,
			`{"email":"EXISTING@example.com","name":"already here"}`,
			`{"email":"new@example.com","username":"Taken"}`,
			`{"email":"bad"}`,
			`{"email":"x@example.com","unknown":1}`,
			`{"email":"y@example.com","password_hash":"$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzABCDE"}`,
			`{"email":"z@example.com"`,
			"{\"email\":\"inv\xffalid@example.com\"}",
			`{"email":"w@example.com"} {"email":"v@example.com"}`,
			`{"email":"` + strings.Repeat("a", users.MaxImportLineBytes) + `@example.com"}`,
			`{"email":"ada@EXAMPLE.com"}`,
			`{"email":"last@example.com","password":"password"}`,
			`{"email":"nl@example.com"}`,
		}
		var rejected []users.Rejection
		rep, err := f.svc.Import(ctx, strings.NewReader(strings.Join(lines, "\r\n")), func(r users.Rejection) {
			rejected = append(rejected, r)
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep != (users.ImportReport{Created: 3, Skipped: 2, Rejected: 9}) {
			t.Errorf("report %+v", rep)
		}
		var got []string
		for _, r := range rejected {
			got = append(got, string(rune('0'+r.Line/10))+string(rune('0'+r.Line%10))+" "+r.Errors[0].Field)
			for _, e := range r.Errors {
				if strings.Contains(e.Reason, "$2b$31$") || strings.Contains(e.Reason, `"password"`) {
					t.Errorf("line %d: the reason echoes the input: %s", r.Line, e.Reason)
				}
			}
		}
		want := []string{"05 username", "06 email", "07 line", "08 password_hash", "09 line", "10 line", "11 line", "12 line", "14 password"}
		if !slices.Equal(got, want) {
			t.Errorf("rejections:\ngot  %v\nwant %v", got, want)
		}
		u, err := f.svc.Authenticate(ctx, "ada@example.com", "violet kettle drum 42")
		if err != nil || !u.EmailVerified || u.Name != "Ada" {
			t.Errorf("the imported plaintext password: %+v %v", u, err)
		}
		if u, err := f.svc.Authenticate(ctx, "django@example.com", djangoPassword); err != nil || string(u.Metadata) != `{"legacy_id":7}` {
			t.Errorf("the imported hash: %+v %v", u, err)
		}
		if !slices.Contains(events(t, db), `user.import.finished import {"created":3,"rejected":9,"skipped":2}`) {
			t.Errorf("no import event in %q", events(t, db))
		}

		// Running it again creates nothing new.
		rep, err = f.svc.Import(ctx, strings.NewReader(strings.Join(lines, "\n")), func(users.Rejection) {})
		if err != nil || rep != (users.ImportReport{Created: 0, Skipped: 5, Rejected: 9}) {
			t.Errorf("second import: %+v, %v", rep, err)
		}
		if n := storetest.Count(t, db, "users"); n != 4 {
			t.Errorf("%d users, want 4", n)
		}
	})
}

// failingReader gives its content, then an error, as a dropped connection would.
type failingReader struct {
	r io.Reader
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errors.New("connection reset")
	}
	return n, err
}

func TestAnImportCutOffMidwayKeepsWhatItWroteAndFinishesWhenRunAgain(t *testing.T) {
	storetest.EachFresh(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, defaultOptions())
		ctx := context.Background()
		var b strings.Builder
		for i := range 1200 {
			fmt.Fprintf(&b, `{"email":"user%d@example.com"}`+"\n", i)
		}
		all := b.String()
		cut := all[:strings.Index(all, `"user702@`)] // in the second batch, mid-line
		rep, err := f.svc.Import(ctx, &failingReader{strings.NewReader(cut)}, func(users.Rejection) {})
		if err == nil || !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("an import whose input fails: %v", err)
		}
		if rep.Created != 702 {
			t.Errorf("report %+v, want the 702 complete lines created", rep)
		}
		rep2, err := f.svc.Import(ctx, strings.NewReader(all), func(r users.Rejection) { t.Errorf("rejected %+v", r) })
		if err != nil {
			t.Fatal(err)
		}
		if rep2 != (users.ImportReport{Created: 1200 - 702, Skipped: 702}) {
			t.Errorf("second run %+v", rep2)
		}
		if n := storetest.Count(t, db, "users"); n != 1200 {
			t.Errorf("%d users, want 1200", n)
		}
	})
}
