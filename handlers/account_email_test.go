package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tally/models"
)

// eventKinds lists a user's security events, oldest first.
func eventKinds(ta *testApp, userID uint) []string {
	var kinds []string
	ta.db.Model(&models.SecurityEvent{}).Where("user_id = ?", userID).Order("id").Pluck("kind", &kinds)
	return kinds
}

// requestEmailChange submits the change form and returns the page's main text.
func (c *client) requestEmailChange(newEmail, password string) *response {
	c.ta.t.Helper()
	c.get("/account/email")
	return c.post("/account/email", url.Values{"new_email": {newEmail}, "password": {password}})
}

// emailChangeLink asks to change c's address to newEmail and returns the confirmation link
// (the notice to the current address arrives first).
func (c *client) emailChangeLink(newEmail string) string {
	c.ta.t.Helper()
	c.requestEmailChange(newEmail, goodPassword)
	c.ta.smtp.Next(c.ta.t)
	return c.ta.smtp.Next(c.ta.t).Link(c.ta.t, "http://127.0.0.1:8080/account/email/confirm?token=")
}

func TestEmailChange(t *testing.T) {
	ta := newTestApp(t)
	u, c := ta.signedInAda()

	res := c.requestEmailChange(" Ada.New@Example.com ", goodPassword)
	wantStatus(t, res, http.StatusOK)
	if got := res.doc.Find("main").Text(); !strings.Contains(got, "Check the new inbox") || !strings.Contains(got, "ada.new@example.com") {
		t.Errorf("answer = %q", got)
	}
	notice, confirm := ta.smtp.Next(t), ta.smtp.Next(t)
	if notice.To != "ada@example.com" || notice.Subject != "Your Tally email address is being changed" || !strings.Contains(notice.Text, "ada.new@example.com") {
		t.Errorf("notice to the old address = %q to %s", notice.Subject, notice.To)
	}
	if confirm.To != "ada.new@example.com" || confirm.Subject != "Confirm your new email address for Tally" {
		t.Fatalf("link mail = %q to %s", confirm.Subject, confirm.To)
	}
	link := confirm.Link(t, "http://127.0.0.1:8080/account/email/confirm?token=")
	if after, _ := models.FindUser(ta.db, u.ID); after.Email != "ada@example.com" {
		t.Fatal("address changed before the link was followed")
	}

	t.Run("tampered link", func(t *testing.T) {
		for _, l := range []string{link + "x", strings.Replace(link, "token=", "token=9", 1), "http://x/account/email/confirm?token="} {
			res := ta.client().get(path(t, l))
			wantStatus(t, res, http.StatusBadRequest)
			if res.doc.Find(`a[href="/account/email"]`).Length() != 1 {
				t.Error("no way to ask again")
			}
		}
	})
	t.Run("following the link changes the address", func(t *testing.T) {
		res := c.get(path(t, link))
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/profile" {
			t.Errorf("Location = %q", loc)
		}
		page := c.get("/profile")
		if got := page.doc.Find("#profile-email").Text(); !strings.Contains(got, "ada.new@example.com") {
			t.Errorf("profile shows %q", got)
		}
		if !strings.Contains(page.doc.Find("#alerts").Text(), "ada.new@example.com") {
			t.Error("no confirmation")
		}
		after, _ := models.FindUser(ta.db, u.ID)
		if after.Email != "ada.new@example.com" || !after.IsVerified() || !after.EmailVerifiedAt.Equal(ta.clock.Now()) {
			t.Errorf("user after = %s verified %v", after.Email, after.EmailVerifiedAt)
		}
		kinds := eventKinds(ta, u.ID)
		if !strings.Contains(strings.Join(kinds, " "), models.EventEmailChangeRequested+" "+models.EventEmailChanged) {
			t.Errorf("events = %v", kinds)
		}
		c.logout()
		c.login("ada.new@example.com", goodPassword)
	})
	t.Run("link works once", func(t *testing.T) {
		wantStatus(t, ta.client().get(path(t, link)), http.StatusBadRequest)
	})
}

// An address change is a privilege change: the browser that confirms it gets a new session id
// and CSRF token, and the old id is worth nothing.
func TestEmailChangeRenewsSession(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	link := c.emailChangeLink("ada.new@example.com")
	cookie, csrf := c.cookie(ta.cfg.CookieName()), c.csrf

	wantStatus(t, c.get(path(t, link)), http.StatusSeeOther)
	if c.cookie(ta.cfg.CookieName()) == cookie {
		t.Error("the session id did not change")
	}
	if me := c.me(); me.Username != "ada" {
		t.Errorf("after the change /api/me = %+v", me)
	}
	c.get("/profile")
	if c.csrf == csrf {
		t.Error("the CSRF token did not change")
	}
	replay := ta.client()
	replay.jar.SetCookies(testBase, []*http.Cookie{{Name: ta.cfg.CookieName(), Value: cookie}})
	wantStatus(t, replay.get("/api/me"), http.StatusUnauthorized)
}

func (c *client) logout() {
	c.ta.t.Helper()
	c.get("/dashboard")
	c.post("/logout", nil)
}

func TestEmailChangeLinkWithoutSession(t *testing.T) {
	ta := newTestApp(t)
	u, c := ta.signedInAda()
	link := c.emailChangeLink("ada2@example.com")

	t.Run("expired", func(t *testing.T) {
		ta.clock.Advance(73 * time.Hour)
		defer ta.clock.Advance(-73 * time.Hour)
		wantStatus(t, ta.client().get(path(t, link)), http.StatusBadRequest)
	})
	// Opened on a phone that is not signed in: the link is enough.
	phone := ta.client()
	res := phone.get(path(t, link))
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login" {
		t.Errorf("Location = %q", loc)
	}
	if !strings.Contains(phone.get("/login").doc.Find("#alerts").Text(), "ada2@example.com") {
		t.Error("no confirmation on the login page")
	}
	if after, _ := models.FindUser(ta.db, u.ID); after.Email != "ada2@example.com" {
		t.Errorf("email = %s", after.Email)
	}
}

func TestEmailChangeDoesNotEnumerate(t *testing.T) {
	ta := newTestApp(t, "TALLY_RATE_IP_HOUR", "100")
	u := ta.createUser("ada", "ada@example.com", goodPassword)
	ta.createUser("bob", "bob@example.com", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)

	answer := func(res *response, email string) string {
		return strings.ReplaceAll(res.doc.Find("main").Text(), email, "EMAIL")
	}
	free := c.requestEmailChange("free@example.com", goodPassword)
	wantStatus(t, free, http.StatusOK)
	ta.smtp.Next(t)
	ta.smtp.Next(t)
	ta.clock.Advance(2 * time.Minute)

	taken := c.requestEmailChange("BOB@example.com", goodPassword)
	wantStatus(t, taken, http.StatusOK)
	if answer(taken, "bob@example.com") != answer(free, "free@example.com") {
		t.Errorf("a taken address answers differently:\n%s\n%s", answer(taken, "bob@example.com"), answer(free, "free@example.com"))
	}
	notice, other := ta.smtp.Next(t), ta.smtp.Next(t)
	if notice.To != "ada@example.com" || notice.Subject != "Your Tally email address is being changed" {
		t.Errorf("the old address is not told the same way: %q to %s", notice.Subject, notice.To)
	}
	if other.To != "bob@example.com" || other.Subject != "Someone tried to move a Tally account to this address" ||
		strings.Contains(other.Text, "/account/email/confirm") {
		t.Errorf("to the taken address: %q %s", other.Subject, other.Text)
	}
	ta.noMail(t)
	if after, _ := models.FindUser(ta.db, u.ID); after.Email != "ada@example.com" {
		t.Error("address changed")
	}
}

func TestEmailChangeInvalid(t *testing.T) {
	ta := newTestApp(t)
	u, c := ta.signedInAda()
	c.get("/account/email")
	for _, tc := range []struct {
		name, email, password, field, msg string
	}{
		{"wrong password", "new@example.com", "wrong-" + goodPassword, "password", "not correct"},
		{"no password", "new@example.com", "", "password", "Enter your password"},
		{"long password", "new@example.com", strings.Repeat("x", 5000), "password", "not correct"},
		{"no address", "", goodPassword, "new_email", "Enter the new address"},
		{"bad address", "new@", goodPassword, "new_email", "valid email"},
		{"invalid utf-8 address", "N\xffew@example.com", goodPassword, "new_email", "not valid text"},
		{"same address", "ADA@example.com", goodPassword, "new_email", "already your address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.post("/account/email", url.Values{"new_email": {tc.email}, "password": {tc.password}}, htmx...)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if got := res.doc.Find("form#email-form #" + tc.field + "-error").Text(); !strings.Contains(got, tc.msg) {
				t.Errorf("error beside %s = %q", tc.field, got)
			}
			if v, _ := res.doc.Find("#new_email").Attr("value"); v != models.NormalizeEmail(tc.email) {
				t.Errorf("typed address not kept: %q", v)
			}
		})
	}
	ta.noMail(t)
	if kinds := eventKinds(ta, u.ID); strings.Contains(strings.Join(kinds, " "), "email") {
		t.Errorf("events = %v", kinds)
	}
}

func TestEmailChangeRaceForAddress(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	link := c.emailChangeLink("new@example.com")
	// Someone registers the address before Ada follows the link.
	ta.createUser("carol", "new@example.com", goodPassword)
	res := c.get(path(t, link))
	wantStatus(t, res, http.StatusBadRequest)
	if !strings.Contains(res.doc.Find("main").Text(), "Another account") {
		t.Errorf("page = %q", res.doc.Find("main").Text())
	}
}
