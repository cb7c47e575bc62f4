package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tally/models"
)

// Pre-hijacking: an attacker registers the victim's address with a password of their own and
// leaves it unconfirmed, hoping the victim confirms it (by clicking the mail that arrives, or by
// registering too) and so hands over an account whose password the attacker knows. The owner of
// an address must never end up confirming such an account.

const (
	victimEmail    = "victim@example.com"
	attackerSecret = "attacker-Chosen-Secret-9"
	victimSecret   = "victims-Own-Passphrase-7"
)

// signUp registers email as username with password from c and returns the mailed link. The
// clock moves past the one-mail-a-minute limit first.
func (c *client) signUp(username, email, password string) string {
	c.ta.t.Helper()
	c.ta.clock.Advance(2 * time.Minute)
	c.get("/register")
	res := c.post("/register", registerValues("username", username, "email", email, "password", password, "password_confirm", password))
	wantStatus(c.ta.t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/register/done" {
		c.ta.t.Fatalf("registration answered %s", loc)
	}
	return path(c.ta.t.(*testing.T), c.ta.smtp.Next(c.ta.t).Link(c.ta.t, "http://127.0.0.1:8080/verify?token="))
}

// cannotLogIn asserts that no login with password gets in, by username or address.
func (ta *testApp) cannotLogIn(t *testing.T, password string, logins ...string) {
	t.Helper()
	for _, login := range logins {
		c := ta.client()
		c.get("/login")
		res := c.post("/login", url.Values{"login": {login}, "password": {password}})
		if res.StatusCode == http.StatusSeeOther {
			t.Errorf("%s logs in with %q", login, password)
		}
	}
}

func TestPreHijackFollowingTheAttackersMail(t *testing.T) {
	ta := newTestApp(t)
	attacker := ta.client()
	link := attacker.signUp("mallory", victimEmail, attackerSecret)

	// The victim clicks the mail in their own browser: they are asked for the password chosen at
	// sign-up, which they do not know, and nothing is confirmed.
	victim := ta.client()
	res := victim.get(link)
	wantStatus(t, res, http.StatusOK)
	form := res.doc.Find("#confirm-form")
	if form.Find(`input[name="password"]`).Length() != 1 || form.Find(`button[name="not_me"]`).Length() != 1 {
		t.Fatalf("the link does not ask for the password and offer \"this was not me\": %s", trim(res.body))
	}
	if !strings.Contains(form.Text(), "mallory") {
		t.Errorf("the page does not say which sign-up it is: %s", form.Text())
	}
	token := form.Find(`input[name="token"]`).AttrOr("value", "")
	wantStatus(t, victim.post("/verify", url.Values{"token": {token}, "password": {victimSecret}}), http.StatusUnprocessableEntity)
	if u, _ := models.FindUserByLogin(ta.db, victimEmail); u.IsVerified() || u.IsActive {
		t.Fatal("the victim's click confirmed the attacker's account")
	}
	ta.cannotLogIn(t, attackerSecret, "mallory", victimEmail)

	// "This was not me" removes the unconfirmed account; the address is free for its owner.
	res = victim.post("/verify", url.Values{"token": {token}, "not_me": {"1"}})
	wantStatus(t, res, http.StatusOK)
	if _, err := models.FindUserByLogin(ta.db, victimEmail); err != models.ErrNotFound {
		t.Fatalf("the attacker's account is still there: %v", err)
	}
	wantStatus(t, attacker.get(link), http.StatusBadRequest)
	mine := victim.signUp("victim", victimEmail, victimSecret)
	wantStatus(t, victim.get(mine), http.StatusSeeOther)
	wantStatus(t, victim.get("/dashboard"), http.StatusOK)
	ta.cannotLogIn(t, attackerSecret, "mallory", victimEmail)
}

func TestPreHijackRegisteringTheSameAddress(t *testing.T) {
	ta := newTestApp(t)
	attacker := ta.client()
	attackersLink := attacker.signUp("mallory", victimEmail, attackerSecret)

	// The victim registers as if the address were free, and the answer is the same as for a
	// free address (enumeration_test.go compares them).
	victim := ta.client()
	victimsLink := victim.signUp("victim", victimEmail, victimSecret)
	if u, _ := models.FindUserByLogin(ta.db, victimEmail); u.Username != "mallory" || u.IsVerified() {
		t.Fatal("a sign-up changed the account before its link was followed")
	}
	// The attacker signs up again, to bury the victim's mail under new ones: the victim's link
	// still works.
	attacker.signUp("mallory2", victimEmail, attackerSecret)

	// The victim follows their own link, in the browser they signed up in: their username and
	// password become the account's, and the earlier claims go.
	res := victim.get(victimsLink)
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, victim.get("/dashboard"), http.StatusOK)
	u, err := models.FindUserByLogin(ta.db, victimEmail)
	if err != nil || u.Username != "victim" || !u.IsVerified() || !u.IsActive {
		t.Fatalf("after the victim's link: %+v %v", u, err)
	}
	ta.cannotLogIn(t, attackerSecret, "mallory", "mallory2", "victim", victimEmail)
	wantStatus(t, attacker.get(attackersLink), http.StatusBadRequest)
	var claims int64
	ta.db.Model(&models.Registration{}).Count(&claims)
	if claims != 0 {
		t.Errorf("%d sign-ups kept after the address was confirmed", claims)
	}
	// The victim's password is the one that works.
	other := ta.client()
	other.login(victimEmail, victimSecret)
}

// A later sign-up's link opened in another browser asks for that sign-up's password, not the
// account's (the attacker's).
func TestPreHijackLaterSignUpElsewhere(t *testing.T) {
	ta := newTestApp(t)
	ta.client().signUp("mallory", victimEmail, attackerSecret)
	victimsLink := ta.client().signUp("victim", victimEmail, victimSecret)

	phone := ta.client()
	res := phone.get(victimsLink)
	wantStatus(t, res, http.StatusOK)
	token := res.doc.Find(`#confirm-form input[name="token"]`).AttrOr("value", "")
	wantStatus(t, phone.post("/verify", url.Values{"token": {token}, "password": {attackerSecret}}), http.StatusUnprocessableEntity)
	wantStatus(t, phone.post("/verify", url.Values{"token": {token}, "password": {victimSecret}}), http.StatusSeeOther)
	if u, _ := models.FindUserByLogin(ta.db, victimEmail); u.Username != "victim" || !u.IsVerified() {
		t.Errorf("after the victim's password: %+v", u)
	}
	ta.cannotLogIn(t, attackerSecret, "mallory", victimEmail)
}
