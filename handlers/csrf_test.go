package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tally/models"
)

// devCSRFCookie is the anonymous CSRF cookie's name outside production.
const devCSRFCookie = "tally_csrf"

// countRows counts the rows of model's table in tally.db.
func (ta *testApp) countRows(model any) int64 {
	ta.t.Helper()
	var n int64
	if err := ta.db.Model(model).Count(&n).Error; err != nil {
		ta.t.Fatal(err)
	}
	return n
}

// The forms of visitors who are not signed in take a token bound to the browser's CSRF cookie:
// no token, a made-up one, one from another browser, or one without its cookie is refused, and
// nothing happens.
func TestAnonymousFormsCSRF(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	forms := []struct {
		name, path string
		form       url.Values
		ok         int
	}{
		{"login", "/login", url.Values{"login": {"ada"}, "password": {goodPassword}}, http.StatusSeeOther},
		{"register", "/register", registerValues(), http.StatusSeeOther},
		{"forgot", "/password/forgot", url.Values{"email": {"ada@example.com"}}, http.StatusOK},
		{"resend", "/verify/resend", url.Values{"email": {"ada@example.com"}}, http.StatusOK},
	}
	// Each case returns the browser that posts and the token it sends, after it loaded the form.
	cases := []struct {
		name  string
		forge func(path string) (*client, string)
	}{
		{"no token", func(p string) (*client, string) { c := ta.client(); c.get(p); return c, "" }},
		{"made-up token", func(p string) (*client, string) { c := ta.client(); c.get(p); return c, "forged" }},
		{"another browser's token", func(p string) (*client, string) {
			other := ta.client()
			other.get(p)
			c := ta.client()
			c.get(p)
			return c, other.csrf
		}},
		{"token without its cookie", func(p string) (*client, string) {
			c := ta.client()
			c.get(p)
			return ta.client(), c.csrf
		}},
		{"the cookie's value as the token", func(p string) (*client, string) {
			c := ta.client()
			c.get(p)
			return c, c.cookie(devCSRFCookie)
		}},
		{"the cookie's value signed with another secret", func(p string) (*client, string) {
			c := ta.client()
			c.get(p)
			return c, anonCSRFToken([]byte(strings.Repeat("x", 40)), []byte(c.cookie(devCSRFCookie)))
		}},
	}
	users := ta.countRows(&models.User{})
	for _, f := range forms {
		for _, tc := range cases {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				c, token := tc.forge(f.path)
				form := cloneValues(f.form)
				form.Set("_csrf", token)
				res := c.post(f.path, form)
				wantStatus(t, res, http.StatusForbidden)
				if !strings.Contains(res.doc.Find("main").Text(), "expired or was sent from another site") {
					t.Errorf("403 page: %s", trim(res.body))
				}
			})
		}
	}
	if n := ta.countRows(&models.AuthSession{}); n != 0 {
		t.Errorf("refused forms started %d sessions", n)
	}
	if n := ta.countRows(&models.User{}); n != users {
		t.Errorf("refused forms created %d users", n-users)
	}
	ta.noMail(t)
	// The same forms with their own token go through, in the form field or the htmx header.
	for _, f := range forms {
		t.Run(f.name+"/own token", func(t *testing.T) {
			c := ta.client()
			c.get(f.path)
			if c.csrf == "" || c.cookie(devCSRFCookie) == "" {
				t.Fatalf("form page gave token %q, cookie %q", c.csrf, c.cookie(devCSRFCookie))
			}
			wantStatus(t, c.post(f.path, f.form), f.ok)
		})
	}
	t.Run("header token", func(t *testing.T) {
		c := ta.client()
		page := c.get("/login")
		var headers map[string]string
		if hh, _ := page.doc.Find("body").Attr("hx-headers"); json.Unmarshal([]byte(hh), &headers) != nil ||
			len(headers) != 1 || headers["X-CSRF-Token"] != c.csrf {
			t.Fatalf("body hx-headers = %q, form token %q", hh, c.csrf)
		}
		form := url.Values{"login": {"nobody"}, "password": {"wrong"}, "_csrf": {""}}
		wantStatus(t, c.post("/login", form, append(htmx, "X-CSRF-Token", headers["X-CSRF-Token"])...), http.StatusUnprocessableEntity)
		wantStatus(t, c.post("/login", form, append(htmx, "X-CSRF-Token", "forged")...), http.StatusForbidden)
	})
}

// Signed-in forms take the session's token only: not the token the browser had before it
// signed in, not an anonymous one, not another user's.
func TestSignedInFormsCSRF(t *testing.T) {
	ta := newTestApp(t)
	anon := ta.client()
	anon.get("/login")
	ta.createUser("bob", "bob@example.com", goodPassword)
	bob := ta.client()
	bob.login("bob", goodPassword)
	bob.get("/dashboard")
	_, c := ta.signedInAda()
	preLogin := c.csrf // the login form's
	c.get("/dashboard")
	for name, token := range map[string]string{
		"no token": "", "made-up token": "forged", "the token from before login": preLogin,
		"an anonymous browser's token": anon.csrf, "another user's token": bob.csrf,
		"the session id": c.cookie(ta.cfg.CookieName()),
	} {
		t.Run(name, func(t *testing.T) {
			wantStatus(t, c.post("/logout", url.Values{"_csrf": {token}}), http.StatusForbidden)
			wantStatus(t, c.post("/logout", url.Values{"_csrf": {""}}, "X-CSRF-Token", token, "HX-Request", "true"), http.StatusForbidden)
			wantStatus(t, c.get("/dashboard"), http.StatusOK)
		})
	}
	res := c.post("/logout", nil)
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
}

// Signing in replaces both the session and the anonymous token; signing out gives a new
// anonymous token. The login page alone stores no session.
func TestLoginRotatesSessionAndAnonymousCSRF(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.get("/login")
	anonToken, anonCookie := c.csrf, c.cookie(devCSRFCookie)
	if anonToken == "" || anonCookie == "" {
		t.Fatal("login page set no CSRF cookie or token")
	}
	if c.cookie(ta.cfg.CookieName()) != "" {
		t.Fatal("login page set a session cookie")
	}
	c.login("ada", goodPassword)
	session := c.cookie(ta.cfg.CookieName())
	if session == "" {
		t.Fatal("login set no session cookie")
	}
	if got := c.cookie(devCSRFCookie); got != "" {
		t.Errorf("the anonymous CSRF cookie outlives the login: %q", got)
	}
	c.get("/dashboard")
	if c.csrf == "" || c.csrf == anonToken {
		t.Errorf("CSRF token not rotated at login: %q", c.csrf)
	}
	// The pre-login token, with its cookie back, is worth nothing to the signed-in session.
	c.jar.SetCookies(testBase, []*http.Cookie{{Name: devCSRFCookie, Value: anonCookie}})
	wantStatus(t, c.post("/logout", url.Values{"_csrf": {anonToken}}), http.StatusForbidden)
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
	c.get("/login?logged_out=1")
	if c.csrf == "" || c.csrf == anonToken || c.cookie(devCSRFCookie) == anonCookie {
		t.Errorf("anonymous token after logout %q (before login %q)", c.csrf, anonToken)
	}
	c.login("ada", goodPassword)
	if got := c.cookie(ta.cfg.CookieName()); got == "" || got == session {
		t.Errorf("session id after a second login: %q (first %q)", got, session)
	}
}

// An id the server never issued is not adopted: the browser is told to drop it, and signing in
// gives a new one.
func TestPlantedSessionIDNotAdopted(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	planted := strings.Repeat("A", 43)
	c.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_session", Value: planted}})
	c.get("/login")
	if got := c.cookie("tally_session"); got != "" {
		t.Errorf("session cookie after planting = %q, want it expired", got)
	}
	c.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_session", Value: planted}})
	c.login("ada", goodPassword)
	if got := c.cookie("tally_session"); got == planted || got == "" {
		t.Fatalf("session cookie after login = %q", got)
	}
	if raw, err := ta.h.sessionData.Get(planted); err != nil || raw != nil {
		t.Errorf("the planted id names a stored session: %q, %v", raw, err)
	}
}

// setCookies is the Set-Cookie headers of res by name.
func setCookies(res *http.Response) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, ck := range res.Cookies() {
		out[ck.Name] = ck
	}
	return out
}

// The login page sets only the CSRF cookie; the login sets the session cookie. Both are
// HttpOnly, SameSite=Lax, Path=/, and in production Secure with the __Host- prefix. (The prod
// app is driven by hand: the test client's cookie jar keeps Secure cookies from plain HTTP.)
func TestCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		name, session, csrf string
		env                 []string
		secure              bool
	}{
		{"dev", "tally_session", "tally_csrf", nil, false},
		{"prod", "__Host-tally_session", "__Host-tally_csrf", []string{"TALLY_ENV", "prod", "TALLY_BASE_URL", "https://tally.example.com"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, tc.env...)
			ta.createUser("ada", "ada@example.com", goodPassword)
			check := func(ck *http.Cookie) {
				t.Helper()
				if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.Secure != tc.secure {
					t.Errorf("cookie %+v", ck)
				}
				if len(ck.Value) < 43 {
					t.Errorf("%s %q is shorter than 32 random bytes", ck.Name, ck.Value)
				}
			}
			page := ta.client().get("/login")
			got := setCookies(page.Response)
			if len(got) != 1 || got[tc.csrf] == nil {
				t.Fatalf("login page cookies: %v", page.Header.Values("Set-Cookie"))
			}
			check(got[tc.csrf])
			token, _ := page.doc.Find(`input[name="_csrf"]`).Attr("value")
			res := loginRaw(ta, tc.csrf+"="+got[tc.csrf].Value, token)
			wantStatus(t, res, http.StatusSeeOther)
			got = setCookies(res.Response)
			if got[tc.session] == nil {
				t.Fatalf("login cookies: %v", res.Header.Values("Set-Cookie"))
			}
			check(got[tc.session])
		})
	}
}

// loginRaw posts ada's login with the Cookie header and token given, outside the cookie jar.
func loginRaw(ta *testApp, cookie, token string) *response {
	form := url.Values{"login": {"ada"}, "password": {goodPassword}, "_csrf": {token}}
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+"login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	return ta.client().do(req)
}

// In production only a __Host- cookie carries the anonymous CSRF value. An attacker can get a
// good pair of value and token by loading the login page themselves; to use it they must put
// the value in the victim's cookie, which a sibling subdomain or a plain-HTTP answer can do
// for tally_csrf but browsers refuse for __Host-tally_csrf.
func TestPlantedCSRFCookieRefusedInProd(t *testing.T) {
	ta := newTestApp(t, "TALLY_ENV", "prod", "TALLY_BASE_URL", "https://tally.example.com")
	ta.createUser("ada", "ada@example.com", goodPassword)
	page := ta.client().get("/login")
	seed := setCookies(page.Response)["__Host-tally_csrf"]
	if seed == nil {
		t.Fatalf("login page cookies: %v", page.Header.Values("Set-Cookie"))
	}
	token, _ := page.doc.Find(`input[name="_csrf"]`).Attr("value")
	wantStatus(t, loginRaw(ta, "tally_csrf="+seed.Value, token), http.StatusForbidden)
	// The pair itself is good: with the cookie under its real name the same post goes through.
	wantStatus(t, loginRaw(ta, "__Host-tally_csrf="+seed.Value, token), http.StatusSeeOther)
}
