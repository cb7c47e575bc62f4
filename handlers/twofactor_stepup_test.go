package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tally/models"
)

// signedInWithCode signs ada (two-factor on) in with the code of the clock's step, loads the
// dashboard for a CSRF token, and moves the clock a step on so the next code is not a replay.
func (ta *testApp) signedInWithCode(secret string) *client {
	ta.t.Helper()
	c := ta.client()
	c.passwordStep("ada", goodPassword, nil)
	wantStatus(ta.t, c.post("/login/2fa", url.Values{"code": {totpCode(ta.t, secret, ta.clock.Now())}}), http.StatusSeeOther)
	c.get("/dashboard")
	ta.clock.Advance(30 * time.Second)
	return c
}

// With two-factor on, each action that matters asks for a code besides the password: without
// one, or with a wrong one, nothing happens; with a current code it is done.
func TestTwoFactorStepUp(t *testing.T) {
	for _, tc := range []struct {
		name, page, path string
		form             url.Values
		// codeField is the id of the code input on the page.
		codeField string
		done      func(t *testing.T, ta *testApp, u *models.User, res *response)
	}{
		{"change password", "/account/password", "/account/password",
			url.Values{"current_password": {goodPassword}, "new_password": {"another-Fine-Password-7"}, "new_password_confirm": {"another-Fine-Password-7"}},
			"code", func(t *testing.T, ta *testApp, u *models.User, res *response) {
				wantStatus(t, res, http.StatusSeeOther)
				if ta.user(u.ID).PasswordHash == u.PasswordHash {
					t.Error("the password did not change")
				}
			}},
		{"change email", "/account/email", "/account/email",
			url.Values{"new_email": {"ada2@example.com"}, "password": {goodPassword}},
			"code", func(t *testing.T, ta *testApp, u *models.User, res *response) {
				wantStatus(t, res, http.StatusOK)
				if ta.eventCount(u, models.EventEmailChangeRequested) != 1 {
					t.Error("no change requested")
				}
			}},
		{"export", "/account/export", "/account/export", url.Values{"password": {goodPassword}},
			"code", func(t *testing.T, ta *testApp, u *models.User, res *response) {
				wantStatus(t, res, http.StatusOK)
				if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
				}
			}},
		{"delete account", "/account/delete", "/account/delete", url.Values{"password": {goodPassword}},
			"code", func(t *testing.T, ta *testApp, u *models.User, res *response) {
				wantStatus(t, res, http.StatusSeeOther)
				if _, err := models.FindUser(ta.db, u.ID); err == nil {
					t.Error("the account is still there")
				}
			}},
		{"new recovery codes", "/account/2fa", "/account/2fa/recovery", url.Values{"password": {goodPassword}},
			"recovery-code", func(t *testing.T, ta *testApp, u *models.User, res *response) {
				wantStatus(t, res, http.StatusOK)
				if n := res.doc.Find("#recovery-codes code").Length(); n != 10 || ta.eventCount(u, models.EventRecoveryCodesNew) != 1 {
					t.Errorf("%d new codes shown", n)
				}
			}},
		{"turn off two-factor", "/account/2fa", "/account/2fa/disable", url.Values{"password": {goodPassword}},
			"disable-code", func(t *testing.T, ta *testApp, u *models.User, res *response) {
				wantStatus(t, res, http.StatusSeeOther)
				if ta.user(u.ID).TwoFactor || ta.countRows(&models.TwoFactorSecret{}) != 0 || ta.countRows(&models.RecoveryCode{}) != 0 {
					t.Error("two-factor is still on")
				}
				e := ta.lastEvent(u)
				if e.Kind != models.EventTwoFactorDisabled || e.ActorID != nil {
					t.Errorf("event %+v", e)
				}
				if m := ta.waitMail(t, "turned off"); !strings.Contains(m.Text, "from your account") {
					t.Errorf("mail:\n%s", m.Text)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t)
			u, secret, codes := ta.twoFactorAda()
			c := ta.signedInWithCode(secret)
			page := c.get(tc.page)
			wantStatus(t, page, http.StatusOK)
			if page.doc.Find(`form[action="`+tc.path+`"] input#`+tc.codeField+`[name=code]`).Length() != 1 {
				t.Fatalf("the form of %s asks for no code:\n%s", tc.path, trim(page.doc.Find("main").Text()))
			}
			now := ta.clock.Now()
			with := func(code string) url.Values {
				f := cloneValues(tc.form)
				f.Set("code", code)
				return f
			}
			refused := func(t *testing.T, res *response, why string) {
				t.Helper()
				wantStatus(t, res, http.StatusUnprocessableEntity)
				if res.doc.Find("#"+tc.codeField+"-error").Text() == "" {
					t.Errorf("%s: no error at the code:\n%s", why, trim(res.doc.Find("main").Text()))
				}
			}
			refused(t, c.post(tc.path, tc.form), "no code")
			refused(t, c.post(tc.path, with(otherCode(totpCode(t, secret, now), totpCode(t, secret, now.Add(-30*time.Second)), totpCode(t, secret, now.Add(30*time.Second))))), "a wrong code")
			refused(t, c.post(tc.path, with(codes[0]+"x")), "a code that is not a recovery code")
			if n := ta.eventCount(u, models.EventTwoFactorFailure); n != 2 {
				t.Errorf("%d wrong codes recorded, want 2", n)
			}
			// A wrong password does not spend the code typed beside it.
			bad := with(totpCode(t, secret, now))
			for _, k := range []string{"password", "current_password"} {
				if bad.Has(k) {
					bad.Set(k, "not-the-Password-1")
				}
			}
			wantStatus(t, c.post(tc.path, bad), http.StatusUnprocessableEntity)
			tc.done(t, ta, u, c.post(tc.path, with(totpCode(t, secret, now))))
		})
	}

	t.Run("a recovery code in place of a code", func(t *testing.T) {
		ta := newTestApp(t)
		u, secret, codes := ta.twoFactorAda()
		c := ta.signedInWithCode(secret)
		res := c.post("/account/export", url.Values{"password": {goodPassword}, "code": {codes[9]}})
		wantStatus(t, res, http.StatusOK)
		if ta.eventCount(u, models.EventRecoveryCodeUsed) != 1 {
			t.Error("the recovery code's use was not recorded")
		}
		wantStatus(t, c.post("/account/export", url.Values{"password": {goodPassword}, "code": {codes[9]}}), http.StatusUnprocessableEntity)
	})

	t.Run("without two-factor, no code is asked", func(t *testing.T) {
		ta := newTestApp(t)
		_, c := ta.signedInAda()
		for _, p := range []string{"/account/password", "/account/email", "/account/export", "/account/delete"} {
			if page := c.get(p); page.doc.Find(`input[name=code]`).Length() != 0 {
				t.Errorf("%s asks for a code", p)
			}
		}
		wantStatus(t, c.post("/account/export", url.Values{"password": {goodPassword}}), http.StatusOK)
	})
}

func TestTwoFactorExport(t *testing.T) {
	ta := newTestApp(t)
	u, secret, codes := ta.twoFactorAda()
	c := ta.signedInWithCode(secret)
	res := c.post("/account/export", url.Values{"password": {goodPassword}, "code": {totpCode(t, secret, ta.clock.Now())}})
	wantStatus(t, res, http.StatusOK)
	var x struct {
		TwoFactor struct {
			Enabled           bool       `json:"enabled"`
			EnabledAt         *time.Time `json:"enabled_at"`
			LastUsedAt        *time.Time `json:"last_used_at"`
			RecoveryCodesLeft int        `json:"recovery_codes_left"`
		} `json:"two_factor"`
	}
	if err := json.Unmarshal([]byte(res.body), &x); err != nil {
		t.Fatal(err)
	}
	if !x.TwoFactor.Enabled || x.TwoFactor.EnabledAt == nil || x.TwoFactor.LastUsedAt == nil || x.TwoFactor.RecoveryCodesLeft != 10 {
		t.Errorf("two_factor = %+v", x.TwoFactor)
	}
	row, _ := models.FindTwoFactor(ta.db, u.ID)
	var hashes []string
	ta.db.Model(&models.RecoveryCode{}).Pluck("hash", &hashes)
	secrets := append([]string{secret, strings.ToLower(secret), string(row.Sealed)}, hashes...)
	for _, code := range codes {
		secrets = append(secrets, code, strings.ReplaceAll(code, "-", ""))
	}
	for _, s := range secrets {
		if strings.Contains(res.body, s) {
			t.Errorf("the export holds %q", s)
		}
	}

	// Without two-factor the export says it is off.
	ta.createUser("bob", "bob@example.com", goodPassword)
	bob := ta.signedIn("bob")
	res = bob.post("/account/export", url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.body, `"two_factor": {
    "enabled": false,`) {
		t.Errorf("bob's export does not say two-factor is off:\n%s", trim(res.body))
	}
}

func TestTwoFactorAdminReset(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("root", true)
	ta.createAdmin("staff", false)
	u, secret, _ := ta.twoFactorAda()
	ta.signedInWithCode(secret) // last used: now

	staff := ta.signedIn("staff")
	page := staff.get(userPath(u, ""))
	if got := page.doc.Find("#user-2fa").Text(); !strings.Contains(got, "On since") || !strings.Contains(got, "last used 2026-11-23 12:00") {
		t.Errorf("the admin shows two-factor as %q", got)
	}
	if page.doc.Find("#twofactor-reset-button").Length() != 0 {
		t.Error("staff are offered to turn it off")
	}
	wantStatus(t, staff.post(userPath(u, "/2fa/disable"), nil), http.StatusForbidden)
	if !ta.user(u.ID).TwoFactor {
		t.Fatal("staff turned it off")
	}

	root := ta.signedIn("root")
	page = root.get(userPath(u, ""))
	if page.doc.Find(`form[action="`+userPath(u, "/2fa/disable")+`"] button#twofactor-reset-button`).Length() != 1 {
		t.Fatal("no button for the superuser")
	}
	res := root.post(userPath(u, "/2fa/disable"), nil)
	wantStatus(t, res, http.StatusSeeOther)
	if ta.user(u.ID).TwoFactor || ta.countRows(&models.TwoFactorSecret{}) != 0 || ta.countRows(&models.RecoveryCode{}) != 0 {
		t.Fatal("still on")
	}
	e := ta.lastEvent(u)
	if e.Kind != models.EventTwoFactorDisabled || e.ActorUsername != "root" {
		t.Errorf("event %+v, want turned off by root", e)
	}
	if m := ta.waitMail(t, "turned off"); m.To != "ada@example.com" || !strings.Contains(m.Text, "by an administrator") {
		t.Errorf("mail to %s:\n%s", m.To, m.Text)
	}
	if got := root.get(userPath(u, "")).doc.Find("#user-2fa").Text(); strings.TrimSpace(got) != "Off" {
		t.Errorf("after: %q", got)
	}
	// The password alone signs in now.
	ta.client().login("ada", goodPassword)
}

func TestCLIResetTwoFactor(t *testing.T) {
	ta := newTestApp(t)
	u, _, _ := ta.twoFactorAda()
	out, _, err := ta.runCLI("", nil, "reset-2fa", "ada")
	if err != nil || !strings.Contains(out, "Two-factor sign-in of ada is off") {
		t.Fatalf("out %q, err %v", out, err)
	}
	if ta.user(u.ID).TwoFactor || ta.countRows(&models.TwoFactorSecret{}) != 0 {
		t.Fatal("still on")
	}
	if e := ta.lastEvent(u); e.Kind != models.EventTwoFactorDisabled || e.Device != "Command line" {
		t.Errorf("event %+v", e)
	}
	ta.outbox.Wake()
	if m := ta.waitMail(t, "turned off"); m.To != "ada@example.com" {
		t.Errorf("mail to %s", m.To)
	}
	ta.client().login("ada", goodPassword)

	out, _, err = ta.runCLI("", nil, "reset-2fa", "ada")
	if err != nil || !strings.Contains(out, "off already") {
		t.Errorf("again: out %q, err %v", out, err)
	}
	if _, _, err := ta.runCLI("", nil, "reset-2fa", "ghost"); err == nil || !strings.Contains(err.Error(), "no user") {
		t.Errorf("unknown user: %v", err)
	}
}

// TALLY_REQUIRE_2FA=staff sends staff to enrolment after signing in and keeps them from the
// admin until they have enrolled; other users are not asked.
func TestTwoFactorRequiredForStaff(t *testing.T) {
	ta := newTestApp(t, "TALLY_REQUIRE_2FA", "staff")
	ta.createAdmin("staff", false)
	ta.createAdmin("root", true)
	ta.createUser("bob", "bob@example.com", goodPassword)

	for _, name := range []string{"staff", "root"} {
		t.Run(name, func(t *testing.T) {
			c := ta.client()
			res := c.passwordStep(name, goodPassword, nil)
			wantStatus(t, res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != "/account/2fa" {
				t.Errorf("signed in, %s goes to %q, want enrolment", name, loc)
			}
			page := c.get("/account/2fa")
			if page.doc.Find("#twofactor-required").Length() != 1 {
				t.Error("the enrolment page does not say it is required")
			}
			for _, p := range []string{"/admin/users", "/admin/users/1"} {
				res := c.get(p)
				wantStatus(t, res, http.StatusSeeOther)
				if loc := res.Header.Get("Location"); loc != "/account/2fa" {
					t.Errorf("%s goes to %q", p, loc)
				}
			}
			if name == "root" {
				res := c.post("/admin/users/3/staff", url.Values{"grant": {"1"}})
				wantStatus(t, res, http.StatusSeeOther)
				if ta.user(3).IsStaff {
					t.Error("a superuser without two-factor used the admin")
				}
			}
			wantStatus(t, c.get("/dashboard"), http.StatusOK) // only the admin waits for it
			c.enrolTwoFactor()
			wantStatus(t, c.get("/admin/users"), http.StatusOK)
		})
	}
	t.Run("users", func(t *testing.T) {
		c := ta.client()
		res := c.passwordStep("bob", goodPassword, nil)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("bob goes to %q", loc)
		}
		if c.get("/account/2fa").doc.Find("#twofactor-required").Length() != 0 {
			t.Error("bob is told it is required")
		}
	})
}

// TALLY_REQUIRE_2FA=all holds everyone back until enrolled, but lets them enrol and sign out.
func TestTwoFactorRequiredForAll(t *testing.T) {
	ta := newTestApp(t, "TALLY_REQUIRE_2FA", "all")
	ta.createUser("bob", "bob@example.com", goodPassword)
	c := ta.client()
	res := c.passwordStep("bob", goodPassword, nil)
	if loc := res.Header.Get("Location"); loc != "/account/2fa" {
		t.Errorf("bob goes to %q", loc)
	}
	for _, p := range []string{"/dashboard", "/accounts", "/profile", "/account/security"} {
		res := c.get(p)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/account/2fa" {
			t.Errorf("%s goes to %q", p, loc)
		}
	}
	if res := c.get("/dashboard", htmx...); res.Header.Get("HX-Redirect") != "/account/2fa" {
		t.Errorf("htmx: HX-Redirect %q", res.Header.Get("HX-Redirect"))
	}
	wantStatus(t, c.get("/api/accounts"), http.StatusForbidden)
	wantStatus(t, c.get("/account/2fa"), http.StatusOK)
	wantStatus(t, c.get("/account/2fa/qr.png"), http.StatusOK)
	c.enrolTwoFactor()
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	wantStatus(t, c.get("/api/accounts"), http.StatusOK)
}

// The sign-in dialog (reauth.go) asks for the code as a second step, in place.
func TestTwoFactorReauthDialog(t *testing.T) {
	ta := newTestApp(t)
	u, secret, _ := ta.twoFactorAda()
	c := ta.signedInWithCode(secret)
	token := c.csrf
	if _, err := models.EndUserSessions(ta.db, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	askedToSignInAgain(t, c.post("/account/sessions/revoke-others", nil, htmxFrom("/account/sessions", token)...), "/account/sessions")

	// c.csrf is the dialog's token now.
	res := c.post("/login/again", url.Values{"login": {"ada"}, "password": {goodPassword}, "next": {"/account/sessions"}},
		"HX-Request", "true", "HX-Current-URL", testBase.String()+"account/sessions")
	wantStatus(t, res, http.StatusOK)
	if res.Header.Get("HX-Trigger") != "" || c.signedInAs() != 0 {
		t.Fatal("signed in from the dialog by the password alone")
	}
	form := res.doc.Find(`form#reauth-form[hx-post="/login/again"]`)
	step, _ := form.Find(`input[name=step]`).Attr("value")
	codeToken, _ := form.Find(`input[name=_csrf]`).Attr("value")
	if h, _ := form.Attr("hx-headers"); form.Find(`input#reauth-code[name=code]`).Length() != 1 || step != "code" || h != `{"X-CSRF-Token":"`+codeToken+`"}` {
		t.Fatalf("the dialog's second step:\n%s", trim(res.body))
	}
	now := ta.clock.Now()
	wrong := otherCode(totpCode(t, secret, now), totpCode(t, secret, now.Add(-30*time.Second)), totpCode(t, secret, now.Add(30*time.Second)))
	res = c.post("/login/again", url.Values{"step": {"code"}, "code": {wrong}}, htmxFrom("/account/sessions", codeToken)...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if res.doc.Find("form#reauth-form #reauth-code-error").Text() != errWrongCode {
		t.Errorf("wrong code:\n%s", trim(res.body))
	}
	res = c.post("/login/again", url.Values{"step": {"code"}, "code": {totpCode(t, secret, now)}}, htmxFrom("/account/sessions", codeToken)...)
	wantStatus(t, res, http.StatusNoContent)
	if ev := signedInEventOf(t, res); ev.User != u.ID {
		t.Errorf("signed in as %d", ev.User)
	}
	if c.signedInAs() != u.ID {
		t.Error("not signed in after the dialog's code")
	}
}
