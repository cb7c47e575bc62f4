package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tally/models"
)

type meWithImpersonator struct {
	Username     string `json:"username"`
	Impersonator *struct {
		ID       uint   `json:"id"`
		Username string `json:"username"`
	} `json:"impersonator"`
}

func (c *client) me() meWithImpersonator {
	c.ta.t.Helper()
	res := c.get("/api/me")
	wantStatus(c.ta.t, res, http.StatusOK)
	var me meWithImpersonator
	if err := json.Unmarshal([]byte(res.body), &me); err != nil {
		c.ta.t.Fatal(err)
	}
	if !strings.Contains(res.body, `"impersonator":`) {
		c.ta.t.Errorf("/api/me has no impersonator field: %s", res.body)
	}
	return me
}

// impersonate starts viewing as target from its detail page.
func (c *client) impersonate(target *models.User) *response {
	c.ta.t.Helper()
	c.get(userPath(target, ""))
	return c.post(userPath(target, "/impersonate"), nil)
}

func TestImpersonation(t *testing.T) {
	ta := newTestApp(t)
	super := ta.createAdmin("super", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	ta.signedIn("bob") // a session of bob's own, which support must not end
	c := ta.signedIn("super")
	if c.get(userPath(bob, "")).doc.Find("#impersonate-button").Text() != "Log in as bob" {
		t.Fatal("no Log in as button")
	}
	before := c.cookie("tally_session")
	res := c.impersonate(bob)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/dashboard" {
		t.Errorf("Location = %q", loc)
	}
	if after := c.cookie("tally_session"); after == before || after == "" {
		t.Error("session id not rotated when impersonation starts")
	}
	stale := ta.client()
	stale.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_session", Value: before}})
	if stale.get("/api/me").StatusCode != http.StatusUnauthorized {
		t.Error("the session id from before impersonation still works")
	}

	dash := c.get("/dashboard")
	wantStatus(t, dash, http.StatusOK)
	banner := dash.doc.Find("#impersonation-banner")
	if !strings.Contains(banner.Text(), "Viewing as bob") || banner.Find(`form[action="/admin/impersonate/stop"] #impersonation-stop`).Length() != 1 {
		t.Errorf("banner = %q", banner.Text())
	}
	if dash.doc.Find("nav .who").Text() != "bob" || dash.doc.Find(`nav a[href="/admin/users"]`).Length() != 0 {
		t.Error("the page is not bob's")
	}
	if me := c.me(); me.Username != "bob" || me.Impersonator == nil || me.Impersonator.Username != "super" || me.Impersonator.ID != super.ID {
		t.Errorf("/api/me = %+v", me)
	}
	for _, e := range []struct {
		u      *models.User
		detail string
	}{{bob, "Support access started"}, {super, "Viewing as " + models.UserRef(bob.ID) + " started"}} {
		if got := ta.lastEvent(e.u); got.Kind != models.EventImpersonation || got.Detail != e.detail {
			t.Errorf("%s's event = %+v", e.u.Username, got.SecurityEvent)
		}
	}

	t.Run("refused while impersonating", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/account/password"}, {"POST", "/account/password"},
			{"GET", "/account/sessions"}, {"POST", "/account/sessions/revoke-others"},
			{"GET", "/account/email"}, {"POST", "/account/email"},
			{"GET", "/account/export"}, {"POST", "/account/export"},
			{"GET", "/account/delete"}, {"POST", "/account/delete"},
			{"GET", "/admin/users"}, {"GET", userPath(bob, "")}, {"POST", userPath(super, "/deactivate")},
			{"POST", userPath(bob, "/impersonate")},
		} {
			var res *response
			if r.method == "GET" {
				res = c.get(r.path)
			} else {
				res = c.post(r.path, url.Values{"current_password": {goodPassword}, "new_password": {"x-" + goodPassword},
					"new_password_confirm": {"x-" + goodPassword}})
			}
			wantStatus(t, res, http.StatusForbidden)
			if msg := res.doc.Find("main").Text(); !strings.Contains(msg, "viewing") {
				t.Errorf("%s %s: no clear message: %q", r.method, r.path, msg)
			}
			if res.doc.Find("#impersonation-banner").Length() != 1 {
				t.Errorf("%s %s: the refusal has no way to stop", r.method, r.path)
			}
		}
		if n, _ := models.CountUserSessions(ta.db, bob.ID); ta.user(bob.ID).PasswordHash != bob.PasswordHash || !ta.user(super.ID).IsActive || n != 1 {
			t.Error("something changed while impersonating")
		}
		// htmx gets the message in the alert region.
		res := c.get("/account/password", htmx...)
		wantStatus(t, res, http.StatusForbidden)
		if !strings.Contains(res.doc.Find(".alert-error").Text(), "Stop viewing") {
			t.Errorf("htmx refusal = %s", res.body)
		}
	})

	t.Run("stop", func(t *testing.T) {
		before := c.cookie("tally_session")
		res := c.post("/admin/impersonate/stop", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != userPath(bob, "") {
			t.Errorf("Location = %q", loc)
		}
		if c.cookie("tally_session") == before {
			t.Error("session id not rotated when impersonation stops")
		}
		if me := c.me(); me.Username != "super" || me.Impersonator != nil {
			t.Errorf("/api/me = %+v", me)
		}
		page := c.get(userPath(bob, ""))
		wantStatus(t, page, http.StatusOK)
		if page.doc.Find("#impersonation-banner").Length() != 0 {
			t.Error("banner after stop")
		}
		for _, e := range []struct {
			u      *models.User
			detail string
		}{{bob, "Support access ended"}, {super, "Viewing as " + models.UserRef(bob.ID) + " ended"}} {
			if got := ta.lastEvent(e.u); got.Kind != models.EventImpersonation || got.Detail != e.detail {
				t.Errorf("%s's event = %+v", e.u.Username, got.SecurityEvent)
			}
		}
		wantStatus(t, c.post("/admin/impersonate/stop", nil), http.StatusNotFound)
	})
}

func TestImpersonationRules(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("super", true)
	staff := ta.createAdmin("staff", false)
	other := ta.createAdmin("other", false)
	super2 := ta.createAdmin("super2", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	gone := ta.createUser("gone", "gone@example.com", goodPassword)
	models.SetUserActive(ta.db, gone, false)

	for _, tc := range []struct {
		name, admin string
		target      *models.User
		status      int
	}{
		{"staff views as a user", "staff", bob, http.StatusSeeOther},
		{"staff cannot view as staff", "staff", other, http.StatusForbidden},
		{"staff cannot view as a superuser", "staff", super2, http.StatusForbidden},
		{"nobody views as themselves", "staff", staff, http.StatusForbidden},
		{"nobody views as a deactivated user", "super", gone, http.StatusForbidden},
		{"superuser views as staff", "super", other, http.StatusSeeOther},
		{"superuser views as a superuser", "super", super2, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ta.signedIn(tc.admin)
			wantStatus(t, c.impersonate(tc.target), tc.status)
			me := c.me()
			if viewing := me.Impersonator != nil; viewing != (tc.status == http.StatusSeeOther) {
				t.Errorf("/api/me = %+v", me)
			}
		})
	}
}

// TestImpersonationRechecked: the right to view as someone is checked on every request, not
// only at the start.
func TestImpersonationRechecked(t *testing.T) {
	ta := newTestApp(t)
	staff := ta.createAdmin("staff", false)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	for _, tc := range []struct {
		name           string
		change, revert func()
	}{
		{"admin loses staff", func() { models.SetUserStaff(ta.db, staff, false) }, func() { models.SetUserStaff(ta.db, staff, true) }},
		{"target becomes staff", func() { models.SetUserStaff(ta.db, bob, true) }, func() { models.SetUserStaff(ta.db, bob, false) }},
		{"target deactivated", func() { models.SetUserActive(ta.db, bob, false) }, func() { models.SetUserActive(ta.db, bob, true) }},
		{"target deleted", func() { ta.db.Delete(&models.User{}, bob.ID) }, func() {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ta.signedIn("staff")
			wantStatus(t, c.impersonate(bob), http.StatusSeeOther)
			tc.change()
			defer tc.revert()
			dash := c.get("/dashboard")
			if dash.doc.Find("#impersonation-banner").Length() != 0 || dash.doc.Find("nav .who").Text() == "bob" {
				t.Error("still viewing as bob")
			}
			if !strings.Contains(dash.doc.Find("#alerts").Text(), "no longer allowed") {
				t.Errorf("no explanation: %q", dash.doc.Find("#alerts").Text())
			}
			if me := c.me(); me.Impersonator != nil {
				t.Errorf("/api/me = %+v", me)
			}
		})
	}
}

func TestImpersonationEndsWithLogout(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("super", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	c := ta.signedIn("super")
	wantStatus(t, c.impersonate(bob), http.StatusSeeOther)
	c.get("/dashboard")
	cookie := c.cookie("tally_session")
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)

	replay := ta.client()
	replay.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_session", Value: cookie}})
	wantStatus(t, replay.get("/api/me"), http.StatusUnauthorized)
	if n, _ := models.CountUserSessions(ta.db, bob.ID); n != 0 {
		t.Errorf("bob has %d sessions", n)
	}
	// The history says who logged out: the staff member, not the user they viewed as.
	kinds := func(u *models.User) string {
		es, _ := models.UserEvents(ta.db, u.ID, 50)
		var k []string
		for _, e := range es {
			k = append(k, e.Kind+":"+e.Detail)
		}
		return strings.Join(k, ",")
	}
	super, _ := models.FindUserByLogin(ta.db, "super")
	if got := kinds(bob); strings.Contains(got, models.EventLogout+":") || !strings.Contains(got, "ended by logout") {
		t.Errorf("bob's events: %s", got)
	}
	if got := kinds(super); !strings.HasPrefix(got, models.EventLogout+":") || !strings.Contains(got, "ended by logout") {
		t.Errorf("super's events: %s", got)
	}
	c.login("super", goodPassword)
	if me := c.me(); me.Username != "super" || me.Impersonator != nil {
		t.Errorf("after logging in again: %+v", me)
	}
}
