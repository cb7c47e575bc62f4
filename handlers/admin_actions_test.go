package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"tally/models"
)

// lastEvent is the newest security event of u.
func (ta *testApp) lastEvent(u *models.User) models.UserEvent {
	ta.t.Helper()
	es, err := models.UserEvents(ta.db, u.ID, 1)
	if err != nil || len(es) == 0 {
		ta.t.Fatalf("no event for %s: %v", u.Username, err)
	}
	return es[0]
}

func wantAdminEvent(t *testing.T, ta *testApp, u, admin *models.User, detail string) {
	t.Helper()
	e := ta.lastEvent(u)
	if e.Kind != models.EventAdminChange || e.ActorID == nil || *e.ActorID != admin.ID || e.Detail != detail+" by "+admin.Username {
		t.Errorf("event = %+v, want %q by %s", e.SecurityEvent, detail, admin.Username)
	}
}

func TestAdminDeactivateEndsSessions(t *testing.T) {
	ta := newTestApp(t)
	staff := ta.createAdmin("staff", false)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	phone, laptop := ta.signedIn("bob"), ta.signedIn("bob")
	admin := ta.signedIn("staff")

	page := admin.get(userPath(bob, ""))
	if got := page.doc.Find("#user-sessions").Text(); got != "2" {
		t.Errorf("sessions = %q", got)
	}
	if page.doc.Find(`form[action="`+userPath(bob, "/deactivate")+`"] input[name="_csrf"]`).Length() != 1 {
		t.Fatal("no deactivate form with a CSRF token")
	}
	t.Run("without CSRF token", func(t *testing.T) {
		wantStatus(t, admin.post(userPath(bob, "/deactivate"), url.Values{"_csrf": {"forged"}}), http.StatusForbidden)
		if !ta.user(bob.ID).IsActive {
			t.Fatal("deactivated without a CSRF token")
		}
	})
	res := admin.post(userPath(bob, "/deactivate"), nil)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != userPath(bob, "") {
		t.Errorf("Location = %q", loc)
	}
	page = admin.get(userPath(bob, ""))
	// Ended at once, not just at their next request.
	if got := page.doc.Find("#user-sessions").Text(); got != "0" {
		t.Errorf("sessions after deactivation = %q", got)
	}
	if page.doc.Find("#user-active").Text() != "No" || !strings.Contains(page.doc.Find("#alerts").Text(), "signed out everywhere") {
		t.Errorf("detail page after deactivation: %s", page.doc.Find("#alerts").Text())
	}
	if page.doc.Find("#user-events td").FilterFunction(func(_ int, s *goquery.Selection) bool { return s.Text() == "staff" }).Length() == 0 {
		t.Error("the events table does not name the admin")
	}
	wantAdminEvent(t, ta, bob, staff, "Account deactivated, sessions ended")
	for name, c := range map[string]*client{"phone": phone, "laptop": laptop} {
		if res := c.get("/dashboard"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("%s still signed in: %d", name, res.StatusCode)
		}
	}
	if n, _ := models.CountUserSessions(ta.db, bob.ID); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	c := ta.client()
	c.get("/login")
	res = c.post("/login", url.Values{"login": {"bob"}, "password": {goodPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)

	res = admin.post(userPath(bob, "/activate"), nil)
	wantStatus(t, res, http.StatusSeeOther)
	wantAdminEvent(t, ta, bob, staff, "Account activated")
	phone.login("bob", goodPassword)
}

// A change of admin rights is a privilege change: a session id from before it must not carry
// the new rights (nor keep going after their removal), so the user's sessions end and they sign
// in again with a new id.
func TestStaffChangeEndsSessions(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("super", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	admin := ta.signedIn("super")
	for _, tc := range []struct {
		name, grant string
		staff       bool
	}{
		{"granted", "1", true},
		{"removed", "0", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := ta.signedIn("bob")
			cookie := before.cookie(ta.cfg.CookieName())
			admin.get(userPath(bob, ""))
			wantStatus(t, admin.post(userPath(bob, "/staff"), url.Values{"grant": {tc.grant}}), http.StatusSeeOther)
			if ta.user(bob.ID).IsStaff != tc.staff {
				t.Fatal("the staff flag did not change")
			}
			if n, _ := models.CountUserSessions(ta.db, bob.ID); n != 0 {
				t.Errorf("%d sessions left", n)
			}
			replay := ta.client()
			replay.jar.SetCookies(testBase, []*http.Cookie{{Name: ta.cfg.CookieName(), Value: cookie}})
			if res := replay.get("/admin/users"); res.StatusCode != http.StatusNotFound {
				t.Errorf("the session id from before the change reaches the admin: %d", res.StatusCode)
			}
			if res := before.get("/dashboard"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("still signed in with the session from before the change: %d", res.StatusCode)
			}
			after := ta.signedIn("bob")
			if after.cookie(ta.cfg.CookieName()) == cookie {
				t.Error("the new sign-in reuses the old session id")
			}
			want := http.StatusNotFound
			if tc.staff {
				want = http.StatusOK
			}
			wantStatus(t, after.get("/admin/users"), want)
		})
	}
}

func TestAdminMails(t *testing.T) {
	ta := newTestApp(t)
	staff := ta.createAdmin("staff", false)
	admin := ta.signedIn("staff")
	newbie, err := models.CreateUser(ta.db, models.NewUser{Username: "newbie", Email: "newbie@example.com", PasswordHash: "x"}, ta.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	bob := ta.createUser("bob", "bob@example.com", goodPassword)

	t.Run("resend verification", func(t *testing.T) {
		if admin.get(userPath(newbie, "")).doc.Find("#resend-button").Length() != 1 {
			t.Fatal("no resend button for an unverified user")
		}
		wantStatus(t, admin.post(userPath(newbie, "/resend-verification"), nil), http.StatusSeeOther)
		m := ta.smtp.Next(t)
		link := m.Link(t, "http://127.0.0.1:8080/verify?token=")
		if m.To != "newbie@example.com" {
			t.Errorf("mail to %s", m.To)
		}
		wantAdminEvent(t, ta, newbie, staff, "Activation link sent")
		// A second click at once is held back by the per-address limit and says so.
		wantStatus(t, admin.post(userPath(newbie, "/resend-verification"), nil), http.StatusSeeOther)
		if msg := admin.get(userPath(newbie, "")).doc.Find("#alerts").Text(); !strings.Contains(msg, "moments ago") {
			t.Errorf("message = %q", msg)
		}
		wantStatus(t, ta.client().get(path(t, link)), http.StatusSeeOther)
		if !ta.user(newbie.ID).IsVerified() {
			t.Error("the resent link does not verify")
		}
	})
	t.Run("password reset", func(t *testing.T) {
		wantStatus(t, admin.post(userPath(bob, "/send-reset"), nil), http.StatusSeeOther)
		m := ta.smtp.Next(t)
		if m.To != "bob@example.com" {
			t.Errorf("mail to %s", m.To)
		}
		m.Link(t, "http://127.0.0.1:8080/password/reset?token=")
		wantAdminEvent(t, ta, bob, staff, "Password reset link sent")
	})
}

func TestAdminRoleRules(t *testing.T) {
	ta := newTestApp(t)
	staff := ta.createAdmin("staff", false)
	super := ta.createAdmin("super", true)
	other := ta.createAdmin("other", false)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	asStaff, asSuper := ta.signedIn("staff"), ta.signedIn("super")

	for _, tc := range []struct {
		name   string
		c      *client
		target *models.User
		action string
		form   url.Values
		status int
		check  func() bool
	}{
		{"staff cannot deactivate a superuser", asStaff, super, "/deactivate", nil, http.StatusForbidden,
			func() bool { return ta.user(super.ID).IsActive }},
		{"staff cannot mail a superuser a reset link", asStaff, super, "/send-reset", nil, http.StatusForbidden, nil},
		{"staff cannot deactivate themselves", asStaff, staff, "/deactivate", nil, http.StatusForbidden,
			func() bool { return ta.user(staff.ID).IsActive }},
		{"staff cannot grant staff", asStaff, bob, "/staff", url.Values{"grant": {"1"}}, http.StatusForbidden,
			func() bool { return !ta.user(bob.ID).IsStaff }},
		{"staff cannot remove staff", asStaff, other, "/staff", url.Values{"grant": {"0"}}, http.StatusForbidden,
			func() bool { return ta.user(other.ID).IsStaff }},
		{"superuser cannot remove their own staff access", asSuper, super, "/staff", url.Values{"grant": {"0"}}, http.StatusForbidden,
			func() bool { return ta.user(super.ID).IsStaff }},
		{"superuser grants staff", asSuper, bob, "/staff", url.Values{"grant": {"1"}}, http.StatusSeeOther,
			func() bool { return ta.user(bob.ID).IsStaff }},
		{"superuser removes staff", asSuper, other, "/staff", url.Values{"grant": {"0"}}, http.StatusSeeOther,
			func() bool { return !ta.user(other.ID).IsStaff }},
		{"staff deactivates a user", asStaff, bob, "/deactivate", nil, http.StatusSeeOther,
			func() bool { return !ta.user(bob.ID).IsActive }},
		{"unknown user", asSuper, &models.User{ID: 9999}, "/deactivate", nil, http.StatusNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.post(userPath(tc.target, tc.action), tc.form)
			wantStatus(t, res, tc.status)
			if tc.check != nil && !tc.check() {
				t.Error("the account changed when it should not, or not when it should")
			}
		})
	}
	wantAdminEvent(t, ta, bob, staff, "Account deactivated, sessions ended")
	t.Run("events name the admin", func(t *testing.T) {
		es, _ := models.UserEvents(ta.db, bob.ID, 10)
		if len(es) != 2 || es[1].Detail != "Staff access granted by super" {
			t.Errorf("events = %+v", es)
		}
	})
	t.Run("buttons follow the rules", func(t *testing.T) {
		page := asStaff.get(userPath(super, ""))
		if page.doc.Find("#deactivate-button, #staff-button, #impersonate-button").Length() != 0 {
			t.Error("staff are offered changes to a superuser")
		}
		page = asSuper.get(userPath(staff, ""))
		if page.doc.Find("#deactivate-button").Length() != 1 || page.doc.Find("#staff-button").Text() != "Remove staff access" {
			t.Error("a superuser is not offered the changes to staff")
		}
	})
}

func TestSecurityPageNamesTheAdmin(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("super", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	admin := ta.signedIn("super")
	admin.get(userURL(bob.ID))
	wantStatus(t, admin.post(userURL(bob.ID)+"/send-reset", nil), http.StatusSeeOther)
	res := ta.signedIn("bob").get("/account/security")
	wantStatus(t, res, http.StatusOK)
	if text := res.doc.Find("#security-events").Text(); !strings.Contains(text, "by super, an administrator") {
		t.Errorf("the user's security page does not name the admin: %s", text)
	}
}
