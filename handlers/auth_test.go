package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
	"tally/testkit/testdb"
)

func registerValues(overrides ...string) url.Values {
	v := url.Values{
		"username": {"ada_l"}, "email": {"Ada@Example.com"}, "first_name": {"Ada"}, "last_name": {"Lovelace"},
		"password": {goodPassword}, "password_confirm": {goodPassword},
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		v.Set(overrides[i], overrides[i+1])
	}
	return v
}

func TestRegisterValidation(t *testing.T) {
	ta := newTestApp(t, "TALLY_RATE_IP_HOUR", "1000")
	ta.createUser("taken", "taken@example.com", goodPassword)
	cases := []struct {
		name, field, wantMsg string
		form                 url.Values
	}{
		{"blank username", "username", "Choose a username", registerValues("username", "")},
		{"short username", "username", "3 to 30", registerValues("username", "ab")},
		{"bad username chars", "username", "3 to 30", registerValues("username", "ada lovelace")},
		{"username taken ignoring case", "username", "taken", registerValues("username", "TAKEN")},
		{"bad email", "email", "valid email", registerValues("email", "ada@")},
		{"display-name email", "email", "valid email", registerValues("email", "Ada <ada@example.com>")},
		// Lower-casing must not turn the bad byte into U+FFFD, an address that looks valid.
		{"invalid utf-8 in email", "email", "not valid text", registerValues("email", "Ad\xffa@example.com")},
		{"control char in name", "first_name", "control characters", registerValues("first_name", "Ada\x07")},
		{"direction override in name", "last_name", "invisible formatting", registerValues("last_name", "Lovelace\u202e")},
		{"long last name", "last_name", "too long", registerValues("last_name", strings.Repeat("x", 151))},
		{"invalid utf-8", "first_name", "not valid text", registerValues("first_name", "\xff\xfe")},
		{"short password", "password", "too short", registerValues("password", "Ab1!", "password_confirm", "Ab1!")},
		{"numeric password", "password", "entirely numeric", registerValues("password", "8675309123", "password_confirm", "8675309123")},
		{"common password", "password", "too common", registerValues("password", "password123", "password_confirm", "password123")},
		{"password like username", "password", "similar", registerValues("username", "margarethamilton", "password", "MargaretHamilton", "password_confirm", "MargaretHamilton")},
		{"confirmation mismatch", "password_confirm", "do not match", registerValues("password_confirm", goodPassword+"x")},
	}
	for _, tc := range cases {
		for _, mode := range []string{"htmx", "plain"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				c := ta.client()
				c.get("/register")
				var headers []string
				if mode == "htmx" {
					headers = htmx
				}
				res := c.post("/register", tc.form, headers...)
				wantStatus(t, res, http.StatusUnprocessableEntity)
				if mode == "htmx" && res.doc.Find("header.site").Length() > 0 {
					t.Error("htmx answer is a whole page, want the form fragment")
				}
				if mode == "plain" && res.doc.Find("header.site").Length() != 1 {
					t.Error("plain answer is not a whole page")
				}
				input := res.doc.Find("#" + tc.field)
				if inv, _ := input.Attr("aria-invalid"); inv != "true" {
					t.Errorf("%s: aria-invalid=%q", tc.field, inv)
				}
				if d, _ := input.Attr("aria-describedby"); !strings.Contains(d, tc.field+"-error") {
					t.Errorf("%s: aria-describedby=%q", tc.field, d)
				}
				if msg := res.doc.Find("#" + tc.field + "-error").Text(); !strings.Contains(msg, tc.wantMsg) {
					t.Errorf("%s error = %q, want it to mention %q", tc.field, msg, tc.wantMsg)
				}
				for _, f := range []string{"password", "password_confirm"} {
					if v, ok := res.doc.Find("#" + f).Attr("value"); ok && v != "" {
						t.Errorf("password field %s echoed back", f)
					}
				}
				if tc.field != "email" {
					if v, _ := res.doc.Find("#email").Attr("value"); v != models.NormalizeEmail(tc.form.Get("email")) {
						t.Errorf("typed email not kept: %q", v)
					}
				}
				var n int64
				ta.db.Model(&models.User{}).Count(&n)
				if n != 1 {
					t.Errorf("users = %d, want 1 (nothing stored)", n)
				}
			})
		}
	}
}

func TestRegisterCreatesUser(t *testing.T) {
	ta := newTestApp(t)
	t.Run("plain", func(t *testing.T) {
		c := ta.client()
		c.get("/register")
		res := c.post("/register", registerValues())
		wantStatus(t, res, http.StatusSeeOther)
		res = c.get(res.Header.Get("Location"))
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(res.doc.Find("main").Text(), "ada@example.com") {
			t.Errorf("success page does not name the address: %s", res.doc.Find("main").Text())
		}
		u, err := models.FindUserByLogin(ta.db, "ADA_L")
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ada@example.com" || u.FirstName != "Ada" || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("stored user = %+v", u)
		}
	})
	t.Run("htmx", func(t *testing.T) {
		c := ta.client()
		c.get("/register")
		res := c.post("/register", registerValues("username", "grace", "email", "grace@example.com"), htmx...)
		wantStatus(t, res, http.StatusOK)
		if res.doc.Find("#register-form[role=status]").Length() != 1 {
			t.Errorf("htmx success fragment missing: %s", trim(res.body))
		}
	})
}

func TestLogin(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	inactive := ta.createUser("bob", "bob@example.com", goodPassword)
	ta.db.Model(inactive).Update("is_active", false)

	cases := []struct {
		name, login, password string
		wantStatus            int
	}{
		{"username", "ada", goodPassword, http.StatusSeeOther},
		{"username any case", "ADA", goodPassword, http.StatusSeeOther},
		{"email any case", "Ada@Example.COM", goodPassword, http.StatusSeeOther},
		{"wrong password", "ada", goodPassword + "x", http.StatusUnprocessableEntity},
		{"unknown user", "nobody", goodPassword, http.StatusUnprocessableEntity},
		{"unknown email", "nobody@example.com", goodPassword, http.StatusUnprocessableEntity},
	}
	var failMessages []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ta.client()
			c.get("/login")
			res := c.post("/login", url.Values{"login": {tc.login}, "password": {tc.password}})
			wantStatus(t, res, tc.wantStatus)
			if tc.wantStatus == http.StatusSeeOther {
				if loc := res.Header.Get("Location"); loc != "/dashboard" {
					t.Errorf("Location = %q", loc)
				}
				return
			}
			failMessages = append(failMessages, res.doc.Find("#form-error").Text())
			if v, _ := res.doc.Find("#login").Attr("value"); v != tc.login {
				t.Errorf("typed login not kept: %q", v)
			}
		})
	}
	for _, m := range failMessages {
		if m != errBadLogin {
			t.Errorf("failed login message %q differs from the generic one", m)
		}
	}
	t.Run("deactivated account, right password", func(t *testing.T) {
		c := ta.client()
		c.get("/login")
		res := c.post("/login", url.Values{"login": {"bob"}, "password": {goodPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.doc.Find("#form-error").Text(), "deactivated") {
			t.Errorf("message = %q", res.doc.Find("#form-error").Text())
		}
		if c.get("/dashboard").StatusCode != http.StatusSeeOther {
			t.Error("deactivated user got a session")
		}
	})
	t.Run("deactivated account, wrong password", func(t *testing.T) {
		c := ta.client()
		c.get("/login")
		res := c.post("/login", url.Values{"login": {"bob"}, "password": {"wrong-password-1"}})
		if got := res.doc.Find("#form-error").Text(); got != errBadLogin {
			t.Errorf("message = %q", got)
		}
	})
}

func TestNextRedirectSafety(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	cases := []struct{ next, want string }{
		{"/dashboard?tab=2", "/dashboard?tab=2"},
		{"/api/me", "/api/me"},
		{"//evil.example/", "/dashboard"},
		{"/\\evil.example/", "/dashboard"},
		{"https://evil.example/", "/dashboard"},
		{"javascript:alert(1)", "/dashboard"},
		{"/\t/evil.example", "/dashboard"},
		{"dashboard", "/dashboard"},
		{"", "/dashboard"},
	}
	for _, tc := range cases {
		t.Run(tc.next, func(t *testing.T) {
			c := ta.client()
			c.get("/login")
			res := c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}, "next": {tc.next}})
			wantStatus(t, res, http.StatusSeeOther)
			if loc := res.Header.Get("Location"); loc != tc.want {
				t.Errorf("Location = %q, want %q", loc, tc.want)
			}
		})
	}
	t.Run("htmx gets HX-Redirect", func(t *testing.T) {
		c := ta.client()
		c.get("/login")
		res := c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}, "next": {"/api/me"}}, htmx...)
		wantStatus(t, res, http.StatusNoContent)
		if got := res.Header.Get("HX-Redirect"); got != "/api/me" {
			t.Errorf("HX-Redirect = %q", got)
		}
	})
}

func TestProtectedPages(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	res := c.get("/dashboard?x=1")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login?next=%2Fdashboard%3Fx%3D1" {
		t.Errorf("Location = %q", loc)
	}
	// htmx is asked to sign in in place (reauth.go), so a page is never left for the login page.
	askedToSignInAgain(t, c.get("/dashboard", "HX-Request", "true", "HX-Current-URL", "http://127.0.0.1:8080/dashboard?tab=3"), "/dashboard?tab=3")
	res = c.get("/api/me")
	wantStatus(t, res, http.StatusUnauthorized)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(res.body, `"error"`) {
		t.Errorf("401 body = %s (%s)", res.body, res.Header.Get("Content-Type"))
	}
}

func TestDashboardAndMe(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	res := c.get("/dashboard")
	wantStatus(t, res, http.StatusOK)
	if h := res.doc.Find("h1").Text(); h != "Hello, Ada" {
		t.Errorf("greeting = %q", h)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	var headers map[string]string
	if hh, _ := res.doc.Find("body").Attr("hx-headers"); json.Unmarshal([]byte(hh), &headers) != nil ||
		len(headers) != 1 || headers["X-CSRF-Token"] != c.csrf {
		t.Errorf("body hx-headers = %q", hh)
	}
	var htmxConfig struct {
		AllowEval        bool             `json:"allowEval"`
		SelfRequestsOnly bool             `json:"selfRequestsOnly"`
		ResponseHandling []map[string]any `json:"responseHandling"`
		IndicatorStyles  bool             `json:"includeIndicatorStyles"`
	}
	if cfg, _ := res.doc.Find(`meta[name="htmx-config"]`).Attr("content"); json.Unmarshal([]byte(cfg), &htmxConfig) != nil ||
		htmxConfig.AllowEval || !htmxConfig.SelfRequestsOnly || htmxConfig.IndicatorStyles || len(htmxConfig.ResponseHandling) != 5 {
		t.Errorf("htmx-config = %q", cfg)
	}
	res = c.get("/api/me")
	wantStatus(t, res, http.StatusOK)
	for _, k := range []string{`"id":1`, `"username":"ada"`, `"email":"ada@example.com"`, `"first_name":"Ada"`,
		`"last_name":"Lovelace"`, `"is_staff":false`, `"is_active":true`, `"date_joined":`, `"last_login":"2026`} {
		if !strings.Contains(res.body, k) {
			t.Errorf("/api/me lacks %s: %s", k, res.body)
		}
	}
	if strings.Contains(res.body, "argon2") || strings.Contains(res.body, "password") {
		t.Errorf("/api/me leaks the hash: %s", res.body)
	}
}

func TestLogout(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	cookie := c.cookie("tally_session")

	t.Run("GET not allowed", func(t *testing.T) {
		wantStatus(t, c.get("/logout"), http.StatusMethodNotAllowed)
	})
	res := c.post("/logout", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login?logged_out=1" {
		t.Errorf("Location = %q", loc)
	}
	if got := res.Header.Get("Clear-Site-Data"); got != `"cache", "storage"` {
		t.Errorf("Clear-Site-Data = %q", got)
	}
	var expired bool
	for _, ck := range res.Cookies() {
		expired = expired || (ck.Name == "tally_session" && ck.Value == "" && ck.Expires.Before(time.Now()))
	}
	if !expired {
		t.Errorf("session cookie not expired: %v", res.Header.Values("Set-Cookie"))
	}
	res = c.get(res.Header.Get("Location"))
	if !strings.Contains(res.doc.Find("#login-form").Text(), "logged out") {
		t.Error("login page does not say the user logged out")
	}
	replay := ta.client()
	replay.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_session", Value: cookie}})
	wantStatus(t, replay.get("/dashboard"), http.StatusSeeOther)
	wantStatus(t, replay.get("/api/me"), http.StatusUnauthorized)
}

func TestCSRF(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	valid := url.Values{"login": {"ada"}, "password": {goodPassword}}
	cases := []struct {
		name    string
		csrf    string // "" keeps the right token, "-" sends none
		headers []string
	}{
		{"missing token", "-", nil},
		{"wrong token", "forged", nil},
		{"cross-site fetch metadata", "", []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site sibling", "", []string{"Sec-Fetch-Site", "same-site"}},
		{"foreign origin", "", []string{"Origin", "https://evil.example"}},
		{"null origin", "", []string{"Origin", "null"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ta.client()
			c.get("/login")
			form := url.Values{}
			for k, v := range valid {
				form[k] = v
			}
			switch tc.csrf {
			case "-":
				form.Set("_csrf", "")
			case "":
			default:
				form.Set("_csrf", tc.csrf)
			}
			res := c.post("/login", form, tc.headers...)
			wantStatus(t, res, http.StatusForbidden)
			if !strings.Contains(res.doc.Find("main").Text(), "expired or was sent from another site") {
				t.Errorf("403 page not readable: %s", trim(res.body))
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Error("error page lacks security headers")
			}
			var n int64
			ta.db.Model(&models.AuthSession{}).Count(&n)
			if n != 0 {
				t.Errorf("a session was started: %d", n)
			}
		})
	}
	t.Run("header token accepted", func(t *testing.T) {
		c := ta.client()
		c.get("/login")
		form := url.Values{"login": {"ada"}, "password": {goodPassword}, "_csrf": {""}}
		res := c.post("/login", form, "X-CSRF-Token", c.csrf, "Origin", "http://127.0.0.1:8080", "Sec-Fetch-Site", "same-origin")
		wantStatus(t, res, http.StatusSeeOther)
	})
	t.Run("token survives a restart", func(t *testing.T) {
		c := ta.client()
		c.get("/login")
		ta.start()
		wantStatus(t, c.post("/login", valid), http.StatusSeeOther)
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
	})
}

// A login upgrades a hash made with other parameters, through the real login path.
func TestLoginRehashesOutdatedHash(t *testing.T) {
	ta := newTestApp(t)
	u := ta.createUser("ada", "ada@example.com", goodPassword) // hashed with testHash
	ta.hash = models.HashParams{Memory: 2048, Time: 1, Threads: 1, KeyLen: 32}
	ta.start()
	ta.client().login("ada", goodPassword)
	stored, _ := models.FindUser(ta.db, u.ID)
	if !strings.Contains(stored.PasswordHash, "m=2048,t=1,p=1") {
		t.Fatalf("hash not upgraded to the current parameters: %s", stored.PasswordHash)
	}
	ta.client().login("ada", goodPassword) // and the new hash works
}

// A sign-in's writes commit without waiting for the disk. What is not bookkeeping still commits
// durably: ending the session a browser was signed in with when it signs in again, and the
// writes after the sign-in (here the logout's event).
func TestLoginCommitsWithoutSync(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	var mu sync.Mutex
	levels := map[string][]int{} // what was written -> PRAGMA synchronous inside its transaction
	level := func(tx *gorm.DB) int {
		var n int
		if testdb.Postgres() {
			// synchronous_commit off and on stand for SQLite's NORMAL (1) and FULL (2).
			var v string
			if err := tx.Session(&gorm.Session{NewDB: true}).Raw("SHOW synchronous_commit").Scan(&v).Error; err != nil {
				t.Error(err)
			}
			return map[string]int{"off": 1, "on": 2}[v]
		}
		if err := tx.Session(&gorm.Session{NewDB: true}).Raw("PRAGMA synchronous").Scan(&n).Error; err != nil {
			t.Error(err)
		}
		return n
	}
	record := func(what string, n int) {
		mu.Lock()
		levels[what] = append(levels[what], n)
		mu.Unlock()
	}
	err := ta.db.Callback().Create().After("gorm:create").Register("test:synchronous", func(tx *gorm.DB) {
		if e, ok := tx.Statement.Dest.(*models.SecurityEvent); ok {
			record(e.Kind, level(tx))
		}
	})
	if err == nil {
		err = ta.db.Callback().Delete().After("gorm:delete").Register("test:synchronous", func(tx *gorm.DB) {
			if _, ok := tx.Statement.Dest.(*models.AuthSession); ok {
				record("end session", level(tx))
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	c := ta.client()
	c.login("ada", goodPassword)
	c.get("/dashboard") // a form token of the signed-in session
	// Signing in again from the signed-in browser ends the first session.
	wantStatus(t, c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}), http.StatusSeeOther)
	c.get("/dashboard")
	wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)

	mu.Lock()
	defer mu.Unlock()
	for what, want := range map[string][]int{
		models.EventLoginSuccess: {1, 1}, "end session": {2, 2}, models.EventLogout: {2},
	} {
		if got := levels[what]; !slices.Equal(got, want) {
			t.Errorf("%s committed with synchronous=%v, want %v (1 NORMAL, 2 FULL)", what, got, want)
		}
	}
}

// The page after registering names the address this browser registered, never one put in the
// URL: anyone could otherwise send a link to a Tally page that shows words of their choosing.
func TestRegisterDoneShowsTheRegisteredAddress(t *testing.T) {
	ta := newTestApp(t)
	const planted = "/register/done?email=pay-the-invoice%40evil.example"
	c := ta.client()
	res := c.get(planted)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/register" {
		t.Errorf("without a registration: Location %q, want /register", loc)
	}
	c.get("/register")
	res = c.post("/register", registerValues())
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); strings.Contains(loc, "example") {
		t.Errorf("the redirect carries the address: %s", loc)
	}
	for _, p := range []string{res.Header.Get("Location"), planted} {
		page := c.get(p)
		wantStatus(t, page, http.StatusOK)
		if got := page.doc.Find("#register-form strong").Text(); got != "ada@example.com" {
			t.Errorf("GET %s names %q, want ada@example.com", p, got)
		}
		if strings.Contains(page.body, "evil") {
			t.Errorf("GET %s shows the address from the URL", p)
		}
	}
}
