package handlers

import (
	"fmt"
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
	// The detail names nobody: the admin is the actor, by id.
	if e.Kind != models.EventAdminChange || e.ActorID == nil || *e.ActorID != admin.ID || e.Detail != detail || e.ActorUsername != admin.Username {
		t.Errorf("event = %+v, want %q by %s", e, detail, admin.Username)
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
	hash, _ := models.HashPassword(goodPassword, testHash)
	newbie, err := models.CreateUser(ta.db, models.NewUser{Username: "newbie", Email: "newbie@example.com", PasswordHash: hash}, ta.clock.Now())
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
		// Opened anywhere, a link mailed again asks for the password chosen at sign-up.
		owner := ta.client()
		token := owner.get(path(t, link)).doc.Find(`#confirm-form input[name="token"]`).AttrOr("value", "")
		wantStatus(t, owner.post("/verify", url.Values{"token": {token}, "password": {goodPassword}}), http.StatusSeeOther)
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
	carl := ta.createUser("carl", "carl@example.com", goodPassword)
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
		{"staff cannot deactivate a user made staff", asStaff, bob, "/deactivate", nil, http.StatusForbidden,
			func() bool { return ta.user(bob.ID).IsActive }},
		{"staff deactivates a user", asStaff, carl, "/deactivate", nil, http.StatusSeeOther,
			func() bool { return !ta.user(carl.ID).IsActive }},
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
	wantAdminEvent(t, ta, carl, staff, "Account deactivated, sessions ended")
	t.Run("events name the admin", func(t *testing.T) {
		es, _ := models.UserEvents(ta.db, bob.ID, 10)
		if len(es) != 1 || es[0].Detail != "Staff access granted" || es[0].ActorUsername != "super" {
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

// TestAdminActionsOnStaff tries every admin action of a staff member and of a superuser on a
// user, a staff member and a superuser: a staff member who is not a superuser acts on accounts
// without admin rights only; a superuser acts on everyone but themselves.
func TestAdminActionsOnStaff(t *testing.T) {
	ta := newTestApp(t)
	ta.stopOutbox() // queued mail stays in the outbox, where the test counts it
	actors := map[string]*models.User{"staff": ta.createAdmin("actor-staff", false), "superuser": ta.createAdmin("actor-super", true)}
	actions := []struct {
		name, path, button string
		// prepare puts the target in the state the action applies to.
		prepare func(u *models.User)
		form    func(u *models.User) url.Values
	}{
		{"activate", "/activate", "#activate-button", func(u *models.User) { models.SetUserActive(ta.db, u, false) }, nil},
		{"deactivate", "/deactivate", "#deactivate-button", nil, nil},
		{"resend verification", "/resend-verification", "#resend-button",
			func(u *models.User) { ta.db.Model(u).Update("email_verified_at", nil) }, nil},
		{"send reset", "/send-reset", "#reset-button", nil, nil},
		{"impersonate", "/impersonate", "#impersonate-button", nil, nil},
		{"set staff", "/staff", "#staff-button", nil, func(u *models.User) url.Values {
			if u.IsStaff {
				return url.Values{"grant": {"0"}}
			}
			return url.Values{"grant": {"1"}}
		}},
	}
	n := 0
	for _, actor := range []string{"staff", "superuser"} {
		for _, target := range []string{"user", "staff", "superuser"} {
			for _, a := range actions {
				// Staff act on users only, and only a superuser sets staff access.
				allowed := actor == "superuser" || (target == "user" && a.name != "set staff")
				t.Run(actor+" "+a.name+" "+target, func(t *testing.T) {
					n++
					name := fmt.Sprintf("target%d", n)
					var u *models.User
					if target == "user" {
						u = ta.createUser(name, name+"@example.com", goodPassword)
					} else {
						u = ta.createAdmin(name, target == "superuser")
					}
					if a.prepare != nil {
						a.prepare(u)
					}
					state := func() string {
						u := ta.user(u.ID)
						return fmt.Sprint(u.IsActive, u.IsStaff, u.IsSuperuser, u.IsVerified(), u.PasswordHash)
					}
					before := state()
					c := ta.signedIn(actors[actor].Username)
					page := c.get(userPath(u, ""))
					wantStatus(t, page, http.StatusOK)
					if offered := page.doc.Find(a.button).Length() == 1; offered != allowed {
						t.Errorf("button %s offered: %v, want %v", a.button, offered, allowed)
					}
					var form url.Values
					if a.form != nil {
						form = a.form(u)
					}
					res := c.post(userPath(u, a.path), form)
					var acted, mails int64
					ta.db.Model(&models.SecurityEvent{}).Where("user_id = ? AND actor_id = ?", u.ID, actors[actor].ID).Count(&acted)
					ta.db.Model(&models.Email{}).Where(`"to" = ?`, u.Email).Count(&mails)
					if !allowed {
						wantStatus(t, res, http.StatusForbidden)
						if after := state(); after != before || acted != 0 || mails != 0 {
							t.Errorf("refused, yet the account changed (%s to %s), %d events, %d mails", before, after, acted, mails)
						}
						if me := c.me(); me.Impersonator != nil {
							t.Errorf("viewing as %s after a refusal", me.Username)
						}
						return
					}
					wantStatus(t, res, http.StatusSeeOther)
					if acted == 0 {
						t.Error("allowed, but no event names the actor")
					}
				})
			}
		}
	}
}
