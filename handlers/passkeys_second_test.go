package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A passkey is a second factor: an account with one (and no authenticator app) is asked for it
// after its password; one without user verification never signs in alone; TALLY_REQUIRE_2FA
// counts it; removing one asks for the password, and a code with two-factor on.

// passkeySecondStep finishes the pending sign-in of c with k (user verification uv).
func (c *client) passkeySecondStep(k *softKey, uv bool) *response {
	c.ta.t.Helper()
	res := c.postJSON("/passkeys/login/begin", map[string]string{"mode": "second"}, true)
	wantStatus(c.ta.t, res, http.StatusOK)
	return c.do(c.passkeyFinish(k.assert(c.ta.t, res.body, uv)))
}

// jsonRedirect is where a finished passkey sign-in sends the browser.
func jsonRedirect(t *testing.T, res *response) string {
	t.Helper()
	var v struct {
		Redirect string `json:"redirect"`
	}
	if err := json.Unmarshal([]byte(res.body), &v); err != nil {
		t.Fatalf("not a redirect: %s", res.body)
	}
	return v.Redirect
}

func wantSignedOut(t *testing.T, c *client) {
	t.Helper()
	res := c.get("/dashboard")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("signed in: /dashboard answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestPasskeyIsSecondFactor(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	k := newSoftKey(t, "handle-ada")
	ta.addSoftPasskey(ada, "Blue key", k)

	t.Run("alone without user verification", func(t *testing.T) {
		c := ta.signedIn("")
		res := c.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
		wantStatus(t, res, http.StatusOK)
		res = c.do(c.passkeyFinish(k.assert(t, res.body, false)))
		wantStatus(t, res, http.StatusForbidden)
		if msg := jsonError(t, res); msg != errPasskeyNoUV {
			t.Errorf("said %q", msg)
		}
		wantSignedOut(t, c)
	})

	t.Run("the password is not enough", func(t *testing.T) {
		c := ta.client()
		res := c.passwordStep("ada", goodPassword, nil)
		if loc := res.Header.Get("Location"); loc != "/login/2fa" {
			t.Fatalf("the password goes to %q", loc)
		}
		step := c.get("/login/2fa")
		wantStatus(t, step, http.StatusOK)
		if step.doc.Find("#passkey-step").Length() != 1 || step.doc.Find(`button[data-passkey="second"]`).Length() != 1 {
			t.Error("the second step does not ask for the passkey")
		}
		if step.doc.Find(`input[name="code"]`).Length() != 0 {
			t.Error("the second step asks for a code the account has no app for")
		}
		// A code cannot stand in for the passkey.
		wantStatus(t, c.post("/login/2fa", url.Values{"code": {"123456"}}), http.StatusUnprocessableEntity)
		wantSignedOut(t, c)
	})

	t.Run("the passkey after the password", func(t *testing.T) {
		c := ta.client()
		c.passwordStep("ada", goodPassword, url.Values{"next": {"/accounts"}})
		res := c.passkeySecondStep(k, false)
		wantStatus(t, res, http.StatusOK)
		if to := jsonRedirect(t, res); to != "/accounts" {
			t.Errorf("goes to %q", to)
		}
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
	})

	t.Run("passkeys off at this address do not count", func(t *testing.T) {
		off := newTestApp(t) // an IP address: no passkey could finish the step
		bob := off.createUser("bob", "bob@example.com", goodPassword)
		off.addPasskey(bob, "Laptop")
		c := off.client()
		c.login("bob", goodPassword)
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
	})
}

// TALLY_REQUIRE_2FA is satisfied by a passkey; removing the only one is allowed, as turning
// two-factor off is, and the user is then held back until they set one up again.
func TestPasskeySatisfiesRequiredTwoFactor(t *testing.T) {
	ta := newTestApp(t, append([]string{"TALLY_REQUIRE_2FA", "all"}, passkeyBase...)...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	k := newSoftKey(t, "handle-ada")
	p := ta.addSoftPasskey(ada, "Blue key", k)

	c := ta.client()
	c.passwordStep("ada", goodPassword, nil)
	res := c.passkeySecondStep(k, false)
	wantStatus(t, res, http.StatusOK)
	if to := jsonRedirect(t, res); to != "/dashboard" {
		t.Errorf("after the passkey, goes to %q", to)
	}
	for _, path := range []string{"/dashboard", "/account/security", "/api/accounts"} {
		wantStatus(t, c.get(path), http.StatusOK)
	}

	c.get("/account/security")
	res = c.post(passkeyPath(p, "/delete"), url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	if ta.passkeyCount(ada) != 0 {
		t.Fatal("not removed")
	}
	for _, path := range []string{"/dashboard", "/account/security"} {
		res := c.get(path)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/2fa" {
			t.Errorf("without a second factor, %s answered %d %q", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	wantStatus(t, c.get("/api/accounts"), http.StatusForbidden)
}

// Removing a passkey asks for the password, and a code when two-factor is on, as turning
// two-factor off does; a refused removal shows its form open, with the reason.
func TestPasskeyRemovalStepUp(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada, secret, _ := ta.twoFactorAda()
	c := ta.signedInWithCode(secret)
	p := ta.addPasskey(ada, "Laptop")
	del := passkeyPath(p, "/delete")
	form := "#passkey-remove-" + itoa(p.ID)

	page := c.get("/account/security")
	if page.doc.Find(form+` input[name="password"]`).Length() != 1 || page.doc.Find(form+` input[name="code"]`).Length() != 1 {
		t.Fatal("the removal form does not ask for the password and a code")
	}
	for _, tc := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"nothing", url.Values{}, "password"},
		{"a wrong password", url.Values{"password": {"wrong-" + goodPassword}, "code": {totpCode(t, secret, ta.clock.Now())}}, "password"},
		{"no code", url.Values{"password": {goodPassword}}, "code"},
		{"a wrong code", url.Values{"password": {goodPassword}, "code": {otherCode(totpCode(t, secret, ta.clock.Now()))}}, "code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.post(del, tc.form)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if res.doc.Find("details.passkey-remove[open] "+form).Length() != 1 {
				t.Error("the refused form is not shown open")
			}
			if msg := trim(res.doc.Find(form + " #passkey-remove-" + tc.field + "-" + itoa(p.ID) + "-error").Text()); msg == "" {
				t.Errorf("no error on %s: %s", tc.field, trim(res.doc.Find(form).Text()))
			}
			if ta.passkeyCount(ada) != 1 {
				t.Fatal("removed")
			}
		})
	}
	res := c.post(del, url.Values{"password": {goodPassword}, "code": {totpCode(t, secret, ta.clock.Now())}})
	wantStatus(t, res, http.StatusSeeOther)
	if ta.passkeyCount(ada) != 0 {
		t.Error("not removed with the password and a code")
	}
}
