package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tally/models"
)

// setupToken is the token of the link the server would print.
func setupToken(t *testing.T, ta *testApp) string {
	t.Helper()
	link := ta.srv.SetupLink()
	tok, ok := strings.CutPrefix(link, ta.cfg.AbsURL("/setup?token="))
	if !ok || len(tok) < 40 {
		t.Fatalf("setup link = %q", link)
	}
	return tok
}

func setupForm(tok string) url.Values {
	return url.Values{"username": {"root"}, "email": {"Root@Example.com"}, "password": {goodPassword},
		"password_confirm": {goodPassword}, "token": {tok}}
}

func TestSetupLinkCreatesTheFirstSuperuserOnce(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword) // an ordinary account does not count
	tok := setupToken(t, ta)
	c := ta.client()

	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"no token", "/setup", http.StatusNotFound},
		{"a wrong token", "/setup?token=" + strings.Repeat("x", len(tok)), http.StatusNotFound},
		{"a prefix of the token", "/setup?token=" + tok[:10], http.StatusNotFound},
		{"the token", "/setup?token=" + url.QueryEscape(tok), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.get(tc.path)
			wantStatus(t, res, tc.want)
			form := res.doc.Find("form#setup-form")
			if tc.want == http.StatusNotFound && (form.Length() != 0 || strings.Contains(res.body, "superuser")) {
				t.Errorf("a visitor without the token sees the setup page")
			}
			if tc.want == http.StatusOK {
				for _, name := range []string{"username", "email", "password", "password_confirm", "token", "_csrf"} {
					if form.Find(`input[name="`+name+`"]`).Length() != 1 {
						t.Errorf("no %s field", name)
					}
				}
				if v, _ := form.Find(`input[name="token"]`).Attr("value"); v != tok {
					t.Errorf("token field = %q", v)
				}
			}
		})
	}

	for _, tc := range []struct {
		name   string
		change func(url.Values)
		status int
		field  string
	}{
		{"a wrong token", func(v url.Values) { v.Set("token", "nope") }, http.StatusNotFound, ""},
		{"no token", func(v url.Values) { v.Del("token") }, http.StatusNotFound, ""},
		{"passwords that differ", func(v url.Values) { v.Set("password_confirm", goodPassword+"!") }, http.StatusUnprocessableEntity, "password_confirm"},
		{"a common password", func(v url.Values) { v.Set("password", "password123"); v.Set("password_confirm", "password123") }, http.StatusUnprocessableEntity, "password"},
		{"an invalid username", func(v url.Values) { v.Set("username", "r o") }, http.StatusUnprocessableEntity, "username"},
		{"a taken username", func(v url.Values) { v.Set("username", "ADA") }, http.StatusUnprocessableEntity, "username"},
		{"an invalid email", func(v url.Values) { v.Set("email", "root@") }, http.StatusUnprocessableEntity, "email"},
		{"a taken email", func(v url.Values) { v.Set("email", "Ada@example.com") }, http.StatusUnprocessableEntity, "email"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			form := setupForm(tok)
			tc.change(form)
			res := c.post("/setup", form)
			wantStatus(t, res, tc.status)
			if tc.field != "" && res.doc.Find("#"+tc.field+"-error").Length() != 1 {
				t.Errorf("no error beside %s: %s", tc.field, trim(res.body))
			}
			if has, _ := models.HasSuperuser(ta.db); has {
				t.Fatal("a superuser was created")
			}
		})
	}
	if ta.srv.SetupLink() == "" {
		t.Fatal("a refused form spent the link")
	}

	res := c.post("/setup", setupForm(tok))
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/dashboard" {
		t.Errorf("Location = %q", loc)
	}
	u, err := models.FindUserByLogin(ta.db, "root")
	if err != nil {
		t.Fatal(err)
	}
	if !u.IsSuperuser || !u.IsStaff || !u.IsActive || !u.IsVerified() || u.Email != "root@example.com" {
		t.Errorf("created %+v", u)
	}
	if ok, _ := models.VerifyPassword(u, goodPassword, ta.hash); !ok {
		t.Error("the password does not sign in")
	}
	// Signed in as the new superuser.
	dash := c.get("/dashboard")
	wantStatus(t, dash, http.StatusOK)
	if who := dash.doc.Find(".who").Text(); who != "root" {
		t.Errorf("signed in as %q", who)
	}
	events, _ := models.UserEvents(ta.db, u.ID, 10)
	if len(events) == 0 || !strings.Contains(events[len(events)-1].Detail, "setup link") {
		t.Errorf("events = %+v", events)
	}

	// Spent: the link is gone for everyone, the new superuser too.
	if link := ta.srv.SetupLink(); link != "" {
		t.Errorf("link after use = %q", link)
	}
	wantStatus(t, c.get("/setup?token="+url.QueryEscape(tok)), http.StatusNotFound)
	other := ta.client()
	other.get("/login")
	f := setupForm(tok)
	f.Set("username", "root2")
	f.Set("email", "root2@example.com")
	wantStatus(t, other.post("/setup", f), http.StatusNotFound)
	if _, err := models.FindUserByLogin(ta.db, "root2"); err == nil {
		t.Error("a second superuser was created with a spent link")
	}
}

func TestSetupLinkHtmxFormSwapsErrors(t *testing.T) {
	ta := newTestApp(t)
	tok := setupToken(t, ta)
	c := ta.client()
	c.get("/setup?token=" + url.QueryEscape(tok))
	f := setupForm(tok)
	f.Set("password_confirm", "other")
	res := c.post("/setup", f, htmx...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if res.doc.Find("html").Length() != 0 && res.doc.Find("header.site").Length() != 0 {
		t.Error("htmx got the whole page")
	}
	if res.doc.Find("#password_confirm-error").Length() != 1 {
		t.Errorf("no error: %s", trim(res.body))
	}
	res = c.post("/setup", setupForm(tok), htmx...)
	if res.Header.Get("HX-Redirect") != "/dashboard" {
		t.Errorf("HX-Redirect = %q (status %d)", res.Header.Get("HX-Redirect"), res.StatusCode)
	}
}

func TestSetupLinkAbsentWithASuperuser(t *testing.T) {
	t.Run("a superuser at start", func(t *testing.T) {
		ta := newTestApp(t)
		hash, _ := models.HashPassword(goodPassword, ta.hash)
		if _, err := models.CreateSuperuser(ta.db, models.NewUser{Username: "boss", Email: "boss@example.com", PasswordHash: hash}, ta.clock.Now()); err != nil {
			t.Fatal(err)
		}
		ta.start() // a restart
		if link := ta.srv.SetupLink(); link != "" {
			t.Errorf("link = %q", link)
		}
		wantStatus(t, ta.client().get("/setup"), http.StatusNotFound)
	})
	t.Run("a superuser made from the command line meanwhile", func(t *testing.T) {
		ta := newTestApp(t)
		tok := setupToken(t, ta)
		if _, _, err := ta.runCLI(goodPassword+"\n", nil, "createsuperuser", "--username", "boss", "--email", "boss@example.com"); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, ta.client().get("/setup?token="+url.QueryEscape(tok)), http.StatusNotFound)
		if link := ta.srv.SetupLink(); link != "" {
			t.Errorf("the link outlived the superuser: %q", link)
		}
	})
}
