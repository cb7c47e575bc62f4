package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"tally/models"
)

// signedInAgain is the HX-Trigger of a sign-in from the dialog.
type signedInAgain struct {
	CSRF string `json:"csrf"`
	User uint   `json:"user"`
}

func signedInEventOf(t *testing.T, res *response) signedInAgain {
	t.Helper()
	var ev map[string]signedInAgain
	if err := json.Unmarshal([]byte(res.Header.Get("HX-Trigger")), &ev); err != nil {
		t.Fatalf("HX-Trigger %q: %v", res.Header.Get("HX-Trigger"), err)
	}
	got, ok := ev[signedInEvent]
	if !ok || got.CSRF == "" || got.User == 0 {
		t.Fatalf("HX-Trigger %q has no %s event with a token and a user", res.Header.Get("HX-Trigger"), signedInEvent)
	}
	return got
}

// payees are the payees of an account's register, newest first.
func (lc *ledgerClient) payees(account uint) []string {
	lc.t.Helper()
	p, err := lc.book().Register(account, "", 50)
	if err != nil {
		lc.t.Fatal(err)
	}
	var out []string
	for _, r := range p.Rows {
		out = append(out, r.Payee)
	}
	return out
}

// htmxFrom are the headers htmx sends from a page at path, with the page's CSRF token.
func htmxFrom(path, token string) []string {
	return []string{"HX-Request", "true", "HX-Current-URL", testBase.String() + path[1:], "X-CSRF-Token", token}
}

// askedToSignInAgain checks a 401 sign-in dialog for the page at next.
func askedToSignInAgain(t *testing.T, res *response, next string) {
	t.Helper()
	wantStatus(t, res, http.StatusUnauthorized)
	if rt, rs := res.Header.Get("HX-Retarget"), res.Header.Get("HX-Reswap"); rt != "#reauth" || rs != "innerHTML" {
		t.Errorf("HX-Retarget %q, HX-Reswap %q: want the dialog swapped into #reauth", rt, rs)
	}
	if res.Header.Get("HX-Redirect") != "" {
		t.Errorf("HX-Redirect %q: the page would be left", res.Header.Get("HX-Redirect"))
	}
	form := res.doc.Find(`dialog#reauth-dialog form#reauth-form[method=post][action="/login/again"][hx-post="/login/again"]`)
	if form.Length() != 1 {
		t.Fatalf("no sign-in dialog in the 401:\n%s", trim(res.body))
	}
	if form.Find(`input[name=login]`).Length() != 1 || form.Find(`input[name=password][type=password]`).Length() != 1 {
		t.Errorf("the dialog lacks the login or password field:\n%s", trim(res.body))
	}
	// The server does not know who the browser was: the page fills the username in.
	if v, _ := form.Find(`input[name=login]`).Attr("value"); v != "" {
		t.Errorf("the dialog names %q", v)
	}
	if v, _ := form.Find(`input[name=next]`).Attr("value"); v != next {
		t.Errorf("the dialog's next is %q, want %q", v, next)
	}
	// The form sends its own token: the page's belonged to the session that ended.
	token, _ := form.Find(`input[name=_csrf]`).Attr("value")
	if h, _ := form.Attr("hx-headers"); token == "" || h != `{"X-CSRF-Token":"`+token+`"}` {
		t.Errorf("the dialog's form has hx-headers %q and token %q", h, token)
	}
}

// TestReauthKeepsTheRow: however the session ended under an open register, the htmx request
// that meets the end gets the sign-in dialog and stores nothing; signing in again from the
// dialog answers with the new token and the same user, and the request sent again with that
// token saves the row.
func TestReauthKeepsTheRow(t *testing.T) {
	ta := newTestApp(t)
	cases := []struct {
		name string
		end  func(lc *ledgerClient)
	}{
		{"idle limit", func(*ledgerClient) { ta.clock.Advance(ta.cfg.SessionIdle + time.Second) }},
		{"revoked elsewhere", func(lc *ledgerClient) {
			if _, err := models.EndUserSessions(ta.db, lc.user.ID, ""); err != nil {
				t.Fatal(err)
			}
		}},
		// A minute past the idle limit the session store has forgotten the session too.
		{"gone from the session store", func(lc *ledgerClient) {
			if err := ta.h.sessionData.Delete(lc.cookie(ta.cfg.CookieName())); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lc := ta.ledgerUser(t, "ada"+ids(uint(i)))
			acc := lc.account("Everyday", "EUR", "100.00")
			path := "/accounts/" + ids(acc)
			wantStatus(t, lc.get(path), http.StatusOK)
			oldToken, oldCookie := lc.csrf, lc.cookie(ta.cfg.CookieName())
			row := txValues(acc, "2026-11-23", "Corner shop", "-12.34")
			tc.end(lc)

			res := lc.post("/transactions", row, htmxFrom(path, oldToken)...)
			askedToSignInAgain(t, res, path)
			if got := lc.payees(acc); slices.Contains(got, "Corner shop") {
				t.Fatalf("the refused request stored its row: %v", got)
			}
			if got := lc.get("/dashboard", htmxFrom(path, oldToken)...); got.StatusCode != http.StatusUnauthorized {
				t.Errorf("an htmx GET after the end answers %d, want the dialog's 401", got.StatusCode)
			}

			sessions := ta.countRowsWhere(&models.AuthSession{}, "user_id = ?", lc.user.ID)
			// lc.csrf is now the dialog's token.
			res = lc.post("/login/again", url.Values{"login": {lc.user.Username}, "password": {goodPassword}, "next": {path}},
				"HX-Request", "true", "HX-Current-URL", testBase.String()+path[1:])
			wantStatus(t, res, http.StatusNoContent)
			ev := signedInEventOf(t, res)
			if ev.User != lc.user.ID || ev.CSRF == oldToken {
				t.Errorf("signed in again as user %d with token %q, want user %d and a new token", ev.User, ev.CSRF, lc.user.ID)
			}
			if c := lc.cookie(ta.cfg.CookieName()); c == "" || c == oldCookie {
				t.Errorf("session cookie %q after signing in again, want a new id", c)
			}
			if n := ta.countRowsWhere(&models.AuthSession{}, "user_id = ?", lc.user.ID); n != sessions+1 {
				t.Errorf("%d sessions after signing in again, want %d", n, sessions+1)
			}

			// What app.js does with the event: the held request again, with the new token.
			row.Set("_csrf", ev.CSRF)
			res = lc.post("/transactions", row, htmxFrom(path, ev.CSRF)...)
			wantStatus(t, res, http.StatusOK)
			if got := res.doc.Find("#register-body .payee").First().Text(); got != "Corner shop" {
				t.Errorf("the register sent back starts with %q, want Corner shop", got)
			}
			if got := lc.payees(acc); len(got) != 2 || got[0] != "Corner shop" {
				t.Errorf("stored payees %v, want the row once above the opening balance", got)
			}
		})
	}
}

// TestReauthAnotherUser: someone else signing in from the dialog is signed in as themselves,
// and the event says who, so the page drops what it held; sent anyway, the held request finds
// none of the first user's accounts.
func TestReauthAnotherUser(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	acc := lc.account("Everyday", "EUR", "100.00")
	path := "/accounts/" + ids(acc)
	lc.get(path)
	oldToken := lc.csrf
	ta.clock.Advance(ta.cfg.SessionIdle + time.Second)
	askedToSignInAgain(t, lc.post("/transactions", txValues(acc, "2026-11-23", "Corner shop", "-12.34"), htmxFrom(path, oldToken)...), path)

	res := lc.post("/login/again", url.Values{"login": {"bob"}, "password": {goodPassword}}, "HX-Request", "true")
	wantStatus(t, res, http.StatusNoContent)
	ev := signedInEventOf(t, res)
	if ev.User != bob.ID || ev.User == lc.user.ID {
		t.Fatalf("the event names user %d, want bob (%d), not ada (%d)", ev.User, bob.ID, lc.user.ID)
	}
	if me := lc.me(); me.Username != "bob" {
		t.Errorf("signed in as %q, want bob", me.Username)
	}
	row := txValues(acc, "2026-11-23", "Corner shop", "-12.34", "_csrf", ev.CSRF)
	wantStatus(t, lc.post("/transactions", row, htmxFrom(path, ev.CSRF)...), http.StatusNotFound)
	if got := lc.payees(acc); slices.Contains(got, "Corner shop") {
		t.Errorf("ada's register holds %v", got)
	}
}

// TestReauthRefusals: the dialog's sign-in fails like the login page's, redrawing the dialog's
// form; without htmx, an ended session still meets the login page, and logging out with one
// still goes there.
func TestReauthRefusals(t *testing.T) {
	ta := newTestApp(t)
	lc := ta.ledgerUser(t, "ada")
	acc := lc.account("Everyday", "EUR", "100.00")
	path := "/accounts/" + ids(acc)
	row := txValues(acc, "2026-11-23", "Corner shop", "-12.34")
	// ended signs ada in, opens the register and lets the session pass its idle limit; it
	// returns the register's token.
	ended := func(t *testing.T) string {
		lc.login("ada", goodPassword)
		wantStatus(t, lc.get(path), http.StatusOK)
		ta.clock.Advance(ta.cfg.SessionIdle + time.Second)
		return lc.csrf
	}

	t.Run("form without JavaScript", func(t *testing.T) {
		res := lc.post("/transactions", row, "X-CSRF-Token", ended(t))
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/login?next=%2Ftransactions" {
			t.Errorf("Location %q", loc)
		}
	})
	t.Run("logout", func(t *testing.T) {
		res := lc.post("/logout", nil, htmxFrom(path, ended(t))...)
		wantStatus(t, res, http.StatusNoContent)
		if got := res.Header.Get("HX-Redirect"); got != "/login?next="+url.QueryEscape(path) {
			t.Errorf("HX-Redirect %q", got)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		askedToSignInAgain(t, lc.post("/transactions", row, htmxFrom(path, ended(t))...), path)
		dialogToken := lc.csrf
		res := lc.post("/login/again", url.Values{"login": {"ada"}, "password": {"not-" + goodPassword}}, "HX-Request", "true")
		wantStatus(t, res, http.StatusUnprocessableEntity)
		form := res.doc.Find(`form#reauth-form[hx-post="/login/again"]`)
		if got := form.Find("#form-error").Text(); got != errBadLogin {
			t.Errorf("the redrawn form says %q:\n%s", got, trim(res.body))
		}
		if v, _ := form.Find(`input[name=login]`).Attr("value"); v != "ada" {
			t.Errorf("the redrawn form lost the username: %q", v)
		}
		if res.Header.Get("HX-Trigger") != "" || ta.countRowsWhere(&models.AuthSession{}, "user_id = ?", lc.user.ID) != 0 {
			t.Error("a wrong password signed in")
		}
		if lc.csrf != dialogToken {
			t.Error("the redrawn form has another token")
		}
		res = lc.post("/login/again", url.Values{"login": {" "}}, "HX-Request", "true")
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.doc.Find(`#reauth-form #reauth-login-error`).Length() != 1 || res.doc.Find(`#reauth-form #reauth-password-error`).Length() != 1 {
			t.Errorf("no error beside the empty fields:\n%s", trim(res.body))
		}
	})
	t.Run("signed in again without JavaScript", func(t *testing.T) {
		askedToSignInAgain(t, lc.post("/transactions", row, htmxFrom(path, ended(t))...), path)
		res := lc.post("/login/again", url.Values{"login": {"ada"}, "password": {goodPassword}, "next": {path}})
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != path {
			t.Errorf("Location %q, want %s", loc, path)
		}
		wantStatus(t, lc.get(path), http.StatusOK)
	})
}

// TestReauthBox: every page has the dialog's place; a signed-in page names its user and who
// signs in again for it: a staff member viewing as a user signs in as themselves.
func TestReauthBox(t *testing.T) {
	ta := newTestApp(t)
	if box := ta.client().get("/login").doc.Find("#reauth"); box.Length() != 1 || box.AttrOr("data-user", "-") != "-" {
		t.Errorf("login page: #reauth %d times, data-user %q", box.Length(), box.AttrOr("data-user", "-"))
	}
	ada, c := ta.signedInAda()
	box := c.get("/dashboard").doc.Find("#reauth")
	if box.AttrOr("data-user", "") != ids(ada.ID) || box.AttrOr("data-username", "") != "ada" {
		t.Errorf("ada's dashboard: #reauth data-user %q, data-username %q", box.AttrOr("data-user", ""), box.AttrOr("data-username", ""))
	}
	ta.createAdmin("super", true)
	staff := ta.signedIn("super")
	wantStatus(t, staff.impersonate(ada), http.StatusSeeOther)
	box = staff.get("/dashboard").doc.Find("#reauth")
	if box.AttrOr("data-user", "") != ids(ada.ID) || box.AttrOr("data-username", "") != "super" {
		t.Errorf("viewing as ada: #reauth data-user %q, data-username %q", box.AttrOr("data-user", ""), box.AttrOr("data-username", ""))
	}
}

func (ta *testApp) countRowsWhere(model any, query string, args ...any) int64 {
	ta.t.Helper()
	var n int64
	if err := ta.db.Model(model).Where(query, args...).Count(&n).Error; err != nil {
		ta.t.Fatal(err)
	}
	return n
}
